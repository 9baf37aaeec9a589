import { describe, expect, it } from 'vitest';
import { seededRandom } from '../support/seededRandom';
import { sleep } from '../support/fixtures';
import { useBankOnTestDatabase } from './support/bankOnTestDatabase';
import { startSagaChild } from './support/childProcess';
import { runSagasUntilSettled } from './support/settle';

const SEED = Number(process.env.CHAOS_SEED ?? 20261201);

describe('200 concurrent transfers among 20 accounts, with refusals, and the saga worker killed mid-run', () => {
  const bank = useBankOnTestDatabase({ poolMax: 12 });

  it('conserve the money, end every transfer, and leave no instance stuck', async () => {
    const random = seededRandom(SEED);
    const execute = (type: string, payload: object) => bank().runtime.bus.execute({ type, payload });
    // 18 accounts in euros, 2 in dollars: a transfer touching those is refused by the currency check.
    const accounts = Array.from({ length: 20 }, (_, index) => ({ id: `c-${String(index)}`, currency: index < 18 ? 'EUR' : 'USD' }));
    for (const account of accounts) {
      await execute('OpenAccount', { accountId: account.id, owner: account.id, currency: account.currency });
      await execute('Deposit', { accountId: account.id, amount: 500 });
    }
    const pick = () => accounts[Math.floor(random() * accounts.length)]?.id ?? 'c-0';
    const transfers = Array.from({ length: 200 }, (_, index) => {
      const fromAccountId = pick();
      let toAccountId = random() < 0.1 ? `ghost-${String(index)}` : pick();
      if (toAccountId === fromAccountId) toAccountId = fromAccountId === 'c-0' ? 'c-1' : 'c-0';
      // Up to 400 from balances of 500 that move all the time: some debits are refused for want of funds.
      return { transferId: `x-${String(index)}`, fromAccountId, toAccountId, amount: 1 + Math.floor(random() * 400), currency: 'EUR' };
    });
    await Promise.all(transfers.map((transfer) => execute('RequestTransfer', transfer)));

    // A worker takes them on, and is killed without warning partway.
    const worker = startSagaChild(bank().database.url, 'never');
    await worker.ready;
    await sleep(300 + Math.floor(random() * 700));
    worker.kill();
    expect((await worker.exited).signal).toBe('SIGKILL');

    // Another (this process) finishes, once the dead worker's leases and claims run out.
    await runSagasUntilSettled(bank().runtime, { timeoutMs: 90_000 });

    const { rows: ends } = await bank().db.query<{ type: string; count: number }>(`
      SELECT e.type, count(*)::int AS count FROM events e
      WHERE e.stream_type = 'transfer' AND e.stream_id LIKE 'transfer-x-%'
        AND e.version = (SELECT max(version) FROM events l WHERE l.stream_id = e.stream_id)
      GROUP BY e.type ORDER BY e.type`);
    expect(ends.reduce((sum, row) => sum + row.count, 0)).toBe(200);
    for (const row of ends) expect(['TransferCompleted', 'TransferDebitFailed', 'TransferRefunded']).toContain(row.type);

    const { rows: phases } = await bank().db.query<{ phase: string; count: number }>("SELECT phase, count(*)::int AS count FROM saga_instances WHERE saga_id LIKE 'x-%' GROUP BY phase");
    expect(phases).toEqual([{ phase: 'completed', count: 200 }]);

    const { rows: money } = await bank().db.query<{ total: number }>(`
      SELECT sum(CASE type WHEN 'MoneyDeposited' THEN (data->>'amount')::int WHEN 'MoneyWithdrawn' THEN -(data->>'amount')::int ELSE 0 END)::int AS total
      FROM events WHERE stream_type = 'account'`);
    expect(money[0]?.total).toBe(20 * 500);
  }, 150_000);
});
