import { describe, expect, it } from 'vitest';
import { specification } from '../../core/aggregates';
import { MAX_AMOUNT, MAX_BALANCE, account, type AccountCommand, type AccountEvent, type AccountRule } from '../../core/bank';
import {
  accountClosed,
  accountOpened,
  closeAccount,
  deposit,
  deposited,
  openAccount,
  withdraw,
  withdrawn,
} from './bankFixtures';

const spec = specification(account);
/** Given this history, when this command, then this rule refuses it. */
const refuses = (history: readonly AccountEvent[], command: AccountCommand, rule: AccountRule) =>
  spec.given(history).when(command).thenRejects(rule);

const openWith = (balance: number): AccountEvent[] => (balance === 0 ? [accountOpened()] : [accountOpened(), deposited(balance)]);
const closed = [accountOpened(), accountClosed];

describe('opening an account', () => {
  it('given no account, when opened for ada in EUR, then AccountOpened with a balance of 0', () => {
    const state = spec.given([]).when(openAccount('ada', 'EUR')).thenEvents([accountOpened('ada', 'EUR')]);
    expect(state).toEqual({ status: 'open', owner: 'ada', currency: 'EUR', balance: 0 });
  });

  it('given an open account, when opened again, then ACCOUNT_ALREADY_EXISTS', () => {
    refuses(openWith(10), openAccount(), 'ACCOUNT_ALREADY_EXISTS');
  });

  it('given a closed account, when opened again, then ACCOUNT_CLOSED: ids are never reused', () => {
    refuses(closed, openAccount(), 'ACCOUNT_CLOSED');
  });

  it.each(['', '   ', 'x'.repeat(201)])('when opened for the owner %j, then INVALID_OWNER', (owner) => {
    refuses([], openAccount(owner), 'INVALID_OWNER');
  });

  it.each(['eur', 'EURO', 'EU', '', 'E1R'])('when opened in the currency %j, then INVALID_CURRENCY', (currency) => {
    refuses([], openAccount('ada', currency), 'INVALID_CURRENCY');
  });
});

describe('depositing', () => {
  it('given an open account with 10, when depositing 5, then MoneyDeposited of 5 and a balance of 15', () => {
    const state = spec.given(openWith(10)).when(deposit(5)).thenEvents([deposited(5)]);
    expect(state).toMatchObject({ status: 'open', balance: 15 });
  });

  it('when depositing for a transfer in the account currency, then the event records the transfer', () => {
    spec.given(openWith(0)).when(deposit(5, { currency: 'EUR', transferId: 't-1' })).thenEvents([deposited(5, 't-1')]);
  });

  it('when depositing exactly the maximum amount, then it is accepted', () => {
    spec.given(openWith(0)).when(deposit(MAX_AMOUNT)).thenEvents([deposited(MAX_AMOUNT)]);
  });

  it('given a balance 5 below the limit, when depositing 5, then it is accepted; 6, then BALANCE_LIMIT_EXCEEDED', () => {
    spec.given(openWith(MAX_BALANCE - 5)).when(deposit(5)).thenEvents([deposited(5)]);
    const error = refuses(openWith(MAX_BALANCE - 5), deposit(6), 'BALANCE_LIMIT_EXCEEDED');
    expect(error.details).toEqual({ balance: MAX_BALANCE - 5, amount: 6, maximum: MAX_BALANCE });
  });

  it('given no account, when depositing, then ACCOUNT_NOT_FOUND', () => {
    refuses([], deposit(5), 'ACCOUNT_NOT_FOUND');
  });

  it('given a EUR account, when depositing USD, then CURRENCY_MISMATCH', () => {
    const error = refuses(openWith(10), deposit(5, { currency: 'USD' }), 'CURRENCY_MISMATCH');
    expect(error.details).toEqual({ accountCurrency: 'EUR', currency: 'USD' });
  });

  it('when depositing in the currency "usd", then INVALID_CURRENCY', () => {
    refuses(openWith(10), deposit(5, { currency: 'usd' }), 'INVALID_CURRENCY');
  });
});

describe('withdrawing', () => {
  it('given an open account with 10, when withdrawing 10, then MoneyWithdrawn of 10 and a balance of 0', () => {
    const state = spec.given(openWith(10)).when(withdraw(10)).thenEvents([withdrawn(10)]);
    expect(state).toMatchObject({ status: 'open', balance: 0 });
  });

  it('given an open account with 10, when withdrawing 11, then INSUFFICIENT_FUNDS: no overdraft', () => {
    const error = refuses(openWith(10), withdraw(11), 'INSUFFICIENT_FUNDS');
    expect(error.details).toEqual({ balance: 10, requested: 11 });
  });

  it('when withdrawing for a transfer in the account currency, then the event records the transfer', () => {
    spec.given(openWith(10)).when(withdraw(4, { currency: 'EUR', transferId: 't-1' })).thenEvents([withdrawn(4, 't-1')]);
  });

  it('given no account, when withdrawing, then ACCOUNT_NOT_FOUND', () => {
    refuses([], withdraw(1), 'ACCOUNT_NOT_FOUND');
  });

  it('given a EUR account, when withdrawing GBP, then CURRENCY_MISMATCH', () => {
    refuses(openWith(10), withdraw(5, { currency: 'GBP' }), 'CURRENCY_MISMATCH');
  });
});

describe.each([
  ['depositing', deposit],
  ['withdrawing', withdraw],
])('amounts when %s', (_name, move) => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('given an open account, when the amount is %s, then INVALID_AMOUNT', (amount) => {
    refuses(openWith(MAX_AMOUNT * 2), move(amount), 'INVALID_AMOUNT');
  });

  it('given an open account, when the amount is one above the maximum, then AMOUNT_TOO_LARGE', () => {
    const error = refuses(openWith(MAX_AMOUNT * 2), move(MAX_AMOUNT + 1), 'AMOUNT_TOO_LARGE');
    expect(error.details).toEqual({ amount: MAX_AMOUNT + 1, maximum: MAX_AMOUNT });
  });
});

describe('closing', () => {
  it('given an open account whose movements sum to 0, when closed, then AccountClosed', () => {
    const state = spec.given([accountOpened(), deposited(7), withdrawn(7)]).when(closeAccount).thenEvents([accountClosed]);
    expect(state).toEqual({ status: 'closed', owner: 'ada', currency: 'EUR', balance: 0 });
  });

  it('given an open account with 10, when closed, then BALANCE_NOT_ZERO', () => {
    expect(refuses(openWith(10), closeAccount, 'BALANCE_NOT_ZERO').details).toEqual({ balance: 10 });
  });

  it('given no account, when closed, then ACCOUNT_NOT_FOUND', () => {
    refuses([], closeAccount, 'ACCOUNT_NOT_FOUND');
  });

  it.each([
    ['opening', openAccount()],
    ['depositing', deposit(1)],
    ['withdrawing', withdraw(1)],
    ['closing again', closeAccount],
  ])('given a closed account, when %s, then ACCOUNT_CLOSED', (_name, command) => {
    refuses(closed, command, 'ACCOUNT_CLOSED');
  });
});

describe('history', () => {
  it('given a movement before AccountOpened, the stream is corrupt and loading fails loudly', () => {
    expect(() => spec.given([deposited(5)])).toThrow(/Corrupt account stream: MoneyDeposited before AccountOpened/);
  });
});

