import { describe, expect, it } from 'vitest';
import { specification } from '../../core/aggregates';
import { account, deposit, open, withdraw, type AccountEvent } from '../support/accountAggregate';

const spec = specification(account);
const opened: AccountEvent = { type: 'AccountOpened', data: { owner: 'ada', currency: 'EUR' } };
const deposited = (amount: number): AccountEvent => ({ type: 'MoneyDeposited', data: { amount, currency: 'EUR' } });

describe('an account, specified without a database', () => {
  it('given nothing, when opened, then AccountOpened', () => {
    const state = spec.given([]).when(open()).thenEvents([opened]);
    expect(state).toMatchObject({ status: 'open', owner: 'ada', balance: 0 });
  });

  it('given an open account, when a deposit, then MoneyDeposited in the account currency', () => {
    const state = spec.given([opened, deposited(10)]).when(deposit(5)).thenEvents([deposited(5)]);
    expect(state.balance).toBe(15);
  });

  it('given a balance of 10, when withdrawing 11, then the no-overdraft rule refuses', () => {
    const error = spec.given([opened, deposited(10)]).when(withdraw(11)).thenRejects('INSUFFICIENT_FUNDS');
    expect(error.details).toEqual({ balance: 10, requested: 11 });
  });

  it('given a closed account, when a deposit, then it is refused', () => {
    spec.given([opened, { type: 'AccountClosed', data: {} }]).when(deposit(1)).thenRejects('ACCOUNT_NOT_OPEN');
  });

  it('given a closed account, when closed again, then nothing happens', () => {
    spec.given([opened, { type: 'AccountClosed', data: {} }]).when({ type: 'CloseAccount', data: {} }).thenEvents([]);
  });

  describe('the specification itself fails loudly', () => {
    it('when other events are produced', () => {
      expect(() => spec.given([opened]).when(deposit(5)).thenEvents([deposited(6)])).toThrow(/deepStrictEqual|Expected/);
    });

    it('when the command is accepted but a rejection was expected', () => {
      expect(() => spec.given([opened]).when(deposit(5)).thenRejects('INSUFFICIENT_FUNDS')).toThrow(
        /expected rule INSUFFICIENT_FUNDS to refuse the command, but it produced/,
      );
    });

    it('when another rule refuses', () => {
      expect(() => spec.given([]).when(deposit(5)).thenRejects('INSUFFICIENT_FUNDS')).toThrow(/but ACCOUNT_NOT_OPEN did/);
    });
  });
});
