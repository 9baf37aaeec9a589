import { describe, expect, it } from 'vitest';
import { createTransferQueries } from '../../core/bank';
import { useBankOnTestDatabase } from '../sagas/support/bankOnTestDatabase';
import { runSagasUntilSettled } from '../sagas/support/settle';

/** Transfers end to end on PostgreSQL: the command, the saga processor, its steps through the bus. */
describe('money transfers, driven by the transfer saga', () => {
  const bank = useBankOnTestDatabase();
  const execute = (type: string, payload: object) => bank().runtime.bus.execute({ type, payload });
  const open = async (accountId: string, currency: string, deposit: number) => {
    await execute('OpenAccount', { accountId, owner: accountId, currency });
    if (deposit > 0) await execute('Deposit', { accountId, amount: deposit });
  };
  const balance = async (accountId: string) => {
    const { rows } = await bank().db.query<{ balance: number }>(
      `SELECT coalesce(sum(CASE type WHEN 'MoneyDeposited' THEN (data->>'amount')::int WHEN 'MoneyWithdrawn' THEN -(data->>'amount')::int ELSE 0 END), 0)::int AS balance
       FROM events WHERE stream_id = $1`,
      [`account-${accountId}`],
    );
    return rows[0]?.balance;
  };
  const transfer = (transferId: string) => createTransferQueries(bank().db).getTransfer(transferId);
  const request = async (transferId: string, fromAccountId: string, toAccountId: string, amount: number) => {
    await execute('RequestTransfer', { transferId, fromAccountId, toAccountId, amount, currency: 'EUR' });
    await runSagasUntilSettled(bank().runtime);
    return transfer(transferId);
  };

  it('given two accounts, a transfer debits one, credits the other and completes, each step with its time', async () => {
    await open('ada', 'EUR', 100);
    await open('bob', 'EUR', 0);
    const done = await request('t-ok', 'ada', 'bob', 40);
    expect(done).toMatchObject({ status: 'completed', amount: 40, fromAccountId: 'ada', toAccountId: 'bob', reason: null, saga: { phase: 'completed' } });
    expect(done?.steps.map((step) => step.step)).toEqual(['TransferRequested', 'TransferDebited', 'TransferCredited', 'TransferCompleted']);
    expect(done?.steps.every((step) => step.at instanceof Date)).toBe(true);
    expect([await balance('ada'), await balance('bob')]).toEqual([60, 40]);
  });

  it('a debit the source cannot cover fails the transfer, and no money moves', async () => {
    await open('cy', 'EUR', 50);
    await open('di', 'EUR', 0);
    expect(await request('t-poor', 'cy', 'di', 999_999)).toMatchObject({ status: 'failed', reason: 'INSUFFICIENT_FUNDS' });
    expect([await balance('cy'), await balance('di')]).toEqual([50, 0]);
  });

  it('a credit to an unknown account is refunded: the source gets its money back', async () => {
    await open('ed', 'EUR', 70);
    const refunded = await request('t-nobody', 'ed', 'nobody', 30);
    expect(refunded).toMatchObject({ status: 'refunded', reason: 'ACCOUNT_NOT_FOUND', saga: { phase: 'completed' } });
    expect(refunded?.steps.map((step) => step.step)).toEqual(['TransferRequested', 'TransferDebited', 'TransferCreditFailed', 'TransferRefunded']);
    expect(await balance('ed')).toBe(70);
  });

  it('a credit to an account of another currency is refunded as well', async () => {
    await open('fay', 'EUR', 20);
    await open('gus', 'USD', 0);
    expect(await request('t-usd', 'fay', 'gus', 20)).toMatchObject({ status: 'refunded', reason: 'CURRENCY_MISMATCH' });
    expect([await balance('fay'), await balance('gus')]).toEqual([20, 0]);
  });

  it('the saga dispatched each command once, under its deterministic id', async () => {
    const { rows } = await bank().db.query<{ command_id: string }>("SELECT command_id FROM commands WHERE command_id LIKE 'saga:transfer:t-ok:%' ORDER BY command_id");
    expect(rows.map((row) => row.command_id)).toEqual(['saga:transfer:t-ok:1', 'saga:transfer:t-ok:2', 'saga:transfer:t-ok:3', 'saga:transfer:t-ok:4', 'saga:transfer:t-ok:5']);
  });
});
