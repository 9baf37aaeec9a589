import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  MAX_AMOUNT,
  account,
  accountCommandSchemas,
  bankCommandSchemas,
  isAccountCommandType,
  isBankCommandType,
  isTransferCommandType,
  transferCommandSchemas,
  type AccountCommand,
  type BankCommandType,
  type CommandSchemas,
} from '../../core/bank';
import { DomainError } from '../../core/aggregates';
import { accountOpened } from './bankFixtures';

/** The path of every issue, dotted; unknown keys are reported at the payload's root with their names. */
function invalidPaths(type: BankCommandType, payload: unknown): string[] {
  const result = bankCommandSchemas[type].safeParse(payload);
  if (result.success) return [];
  return result.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys' ? `(unknown: ${issue.keys.join(', ')})` : issue.path.join('.') || '(payload)',
  );
}

const valid: Record<BankCommandType, unknown[]> = {
  OpenAccount: [{ owner: 'Ada Lovelace', currency: 'EUR' }],
  Deposit: [{ amount: 1 }, { amount: MAX_AMOUNT, currency: 'USD', transferId: '4f1c2b9e-8d7a-4c3b-9e2f-1a2b3c4d5e6f' }],
  Withdraw: [{ amount: 250 }, { amount: 250, currency: 'JPY', transferId: 't_42' }],
  CloseAccount: [{}],
  RequestTransfer: [{ fromAccountId: 'alice', toAccountId: 'bob', amount: 2_500, currency: 'EUR' }],
  RecordDebit: [{}],
  RecordDebitFailure: [{ reason: 'INSUFFICIENT_FUNDS' }],
  RecordCredit: [{}],
  RecordCreditFailure: [{ reason: 'ACCOUNT_CLOSED' }],
  CompleteTransfer: [{}],
  RecordRefund: [{}],
};

describe('the command schemas', () => {
  it('cover every command of both aggregates, and tell them apart', () => {
    expect(Object.keys(bankCommandSchemas).sort()).toEqual(Object.keys(valid).sort());
    expect(Object.keys(accountCommandSchemas).every((type) => isAccountCommandType(type) && !isTransferCommandType(type))).toBe(true);
    expect(Object.keys(transferCommandSchemas).every((type) => isTransferCommandType(type) && !isAccountCommandType(type))).toBe(true);
    expect(['Transfer', 'toString', '__proto__', 'constructor'].some(isBankCommandType)).toBe(false);
  });

  it.each(Object.entries(valid).flatMap(([type, payloads]) => payloads.map((payload) => [type, payload] as const)))(
    '%s accepts %j unchanged',
    (type, payload) => {
      expect(bankCommandSchemas[type as BankCommandType].parse(payload)).toEqual(payload);
    },
  );

  it('OpenAccount reports a blank owner and a lowercase currency together', () => {
    expect(invalidPaths('OpenAccount', { owner: '  ', currency: 'eur' })).toEqual(['owner', 'currency']);
  });

  it('OpenAccount reports every missing field', () => {
    expect(invalidPaths('OpenAccount', {})).toEqual(['owner', 'currency']);
  });

  it('Deposit reports every invalid field at once, unknown fields included', () => {
    const payload = { amount: 12.5, currency: 'EURO', transferId: 'has space', ammount: 5 };
    expect(invalidPaths('Deposit', payload)).toEqual(['amount', 'currency', 'transferId', '(unknown: ammount)']);
  });

  it.each([0, -1, 1.5, '100', null, Number.NaN, Number.POSITIVE_INFINITY, MAX_AMOUNT + 1])(
    'Withdraw refuses the amount %j',
    (amount) => {
      expect(invalidPaths('Withdraw', { amount })).toEqual(['amount']);
    },
  );

  it('RequestTransfer reports all four fields', () => {
    const payload = { fromAccountId: '', toAccountId: '-bob', amount: '25', currency: 'E' };
    expect(invalidPaths('RequestTransfer', payload)).toEqual(['fromAccountId', 'toAccountId', 'amount', 'currency']);
    expect(invalidPaths('RequestTransfer', { fromAccountId: 'x'.repeat(65), toAccountId: 'bob', amount: 1, currency: 'EUR' })).toEqual([
      'fromAccountId',
    ]);
  });

  it.each(['', ' \n', 'x'.repeat(501), 42])('a failure refuses the reason %j', (reason) => {
    expect(invalidPaths('RecordDebitFailure', { reason })).toEqual(['reason']);
    expect(invalidPaths('RecordCreditFailure', { reason })).toEqual(['reason']);
  });

  it('commands without a payload take only an empty object', () => {
    expect(invalidPaths('CloseAccount', { force: true })).toEqual(['(unknown: force)']);
    expect(invalidPaths('RecordDebit', null)).toEqual(['(payload)']);
    expect(invalidPaths('CompleteTransfer', 'now')).toEqual(['(payload)']);
  });

  it('agree with the account on which amounts are valid', () => {
    const open = account.apply(account.initialState(), [accountOpened()]);
    for (const amount of [-1, 0, 0.5, 1, 99, MAX_AMOUNT, MAX_AMOUNT + 1, Number.NaN]) {
      const schemaAccepts = bankCommandSchemas.Deposit.safeParse({ amount }).success;
      let accountAccepts = true;
      try {
        account.execute({ type: 'Deposit', data: { amount } }, open);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        accountAccepts = false;
      }
      expect({ amount, schemaAccepts }).toEqual({ amount, schemaAccepts: accountAccepts });
    }
  });

  it('are typed by their command: a missing schema or a wrong payload type does not compile', () => {
    expectTypeOf<z.output<(typeof bankCommandSchemas)['Deposit']>>().toEqualTypeOf<
      Extract<AccountCommand, { type: 'Deposit' }>['data']
    >();
    // @ts-expect-error CloseAccount has no schema
    const missing: CommandSchemas<AccountCommand> = { ...accountCommandSchemas, CloseAccount: undefined };
    expectTypeOf(missing).toBeObject();
  });
});
