import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../core/db';
import { registerProcessor } from '../../core/processing';
import { createSagaRuntime } from '../../core/sagas';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { sleep } from '../support/fixtures';
import { useBankOnTestDatabase } from './support/bankOnTestDatabase';
import { startSagaChild } from './support/childProcess';
import { runSagasUntilSettled } from './support/settle';

const sumOfBalances = async (db: Queryable, accounts: readonly string[]) => {
  const { rows } = await db.query<{ total: number }>(
    `SELECT coalesce(sum(CASE type WHEN 'MoneyDeposited' THEN (data->>'amount')::int WHEN 'MoneyWithdrawn' THEN -(data->>'amount')::int ELSE 0 END), 0)::int AS total
     FROM events WHERE stream_id = ANY ($1::text[])`,
    [accounts.map((id) => `account-${id}`)],
  );
  return rows[0]?.total ?? 0;
};

/** Account events a transfer caused, by type: a step that took effect twice shows here. */
const movementsOf = async (db: Queryable, transferId: string) => {
  const { rows } = await db.query<{ stream_id: string; type: string }>(
    "SELECT stream_id, type FROM events WHERE stream_type = 'account' AND data->>'transferId' = $1 ORDER BY global_position",
    [transferId],
  );
  return rows.map((row) => `${row.type} ${row.stream_id}`);
};

describe('the transfer saga under faults, on PostgreSQL', () => {
  const bank = useBankOnTestDatabase();
  const execute = (type: string, payload: object) => bank().runtime.bus.execute({ type, payload });
  const open = async (accountId: string, deposit: number) => {
    await execute('OpenAccount', { accountId, owner: accountId, currency: 'EUR' });
    if (deposit > 0) await execute('Deposit', { accountId, amount: deposit });
  };
  const requestTransfer = (transferId: string, fromAccountId: string, toAccountId: string, amount: number) =>
    execute('RequestTransfer', { transferId, fromAccountId, toAccountId, amount, currency: 'EUR' });
  const statusOf = async (transferId: string) => {
    const { rows } = await bank().db.query<{ phase: string }>("SELECT phase FROM saga_instances WHERE saga = 'transfer' AND saga_id = $1", [transferId]);
    return rows[0]?.phase;
  };

  it('a processor killed after committing an instance, before dispatching its steps: the sweeper dispatches each once', async () => {
    await open('k1-from', 100);
    await open('k1-to', 0);
    await requestTransfer('k1', 'k1-from', 'k1-to', 25);
    // The child's one run must see the request, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(bank().db);
    const child = startSagaChild(bank().database.url, 'after-commit');
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(await statusOf('k1')).toBe('running');
    expect(await movementsOf(bank().db, 'k1')).toEqual([]);

    // Once the dead worker's claim on the first step runs out, three sweepers at once find it abandoned;
    // its command id makes the extra dispatches replays.
    await sleep(600);
    const others = [bank().another(), bank().another(), bank().another()];
    await Promise.all(others.map((runtime) => runtime.sagas.sweep()));
    await runSagasUntilSettled(bank().runtime);
    expect(await movementsOf(bank().db, 'k1')).toEqual(['MoneyWithdrawn account-k1-from', 'MoneyDeposited account-k1-to']);
    expect(await statusOf('k1')).toBe('completed');
  }, 60_000);

  it('a worker killed mid-saga (its second command starting): the instance finishes with no new input', async () => {
    await open('k2-from', 100);
    await open('k2-to', 0);
    await requestTransfer('k2', 'k2-from', 'k2-to', 30);
    const child = startSagaChild(bank().database.url, 'on-command:2');
    expect((await child.exited).signal).toBe('SIGKILL');
    expect(await movementsOf(bank().db, 'k2')).toEqual(['MoneyWithdrawn account-k2-from']);

    await runSagasUntilSettled(bank().runtime);
    expect(await movementsOf(bank().db, 'k2')).toEqual(['MoneyWithdrawn account-k2-from', 'MoneyDeposited account-k2-to']);
    expect(await statusOf('k2')).toBe('completed');
  }, 60_000);

  it('two processors at once share the instances: 30 transfers, each step once', async () => {
    const accounts = ['p-a', 'p-b', 'p-c'];
    for (const account of accounts) await open(account, 1_000);
    for (let index = 0; index < 30; index += 1) await requestTransfer(`p-${String(index)}`, accounts[index % 3] ?? '', accounts[(index + 1) % 3] ?? '', 10);
    await Promise.all([runSagasUntilSettled(bank().runtime, { holder: 'one' }), runSagasUntilSettled(bank().another(), { holder: 'two' })]);
    for (let index = 0; index < 30; index += 1) {
      expect(await movementsOf(bank().db, `p-${String(index)}`)).toHaveLength(2);
      expect(await statusOf(`p-${String(index)}`)).toBe('completed');
    }
    expect(await sumOfBalances(bank().db, accounts)).toBe(3_000);
  }, 60_000);

  it('the same event delivered twice (the checkpoint moved back) starts nothing twice', async () => {
    await open('d-from', 100);
    await open('d-to', 0);
    await requestTransfer('d1', 'd-from', 'd-to', 5);
    await runSagasUntilSettled(bank().runtime);
    await bank().db.query("UPDATE processor_partitions SET checkpoint_tx = '0', checkpoint_position = 0 WHERE processor = 'saga:transfer'");
    await runSagasUntilSettled(bank().runtime);
    expect(await movementsOf(bank().db, 'd1')).toEqual(['MoneyWithdrawn account-d-from', 'MoneyDeposited account-d-to']);
    const { rows } = await bank().db.query<{ count: number }>("SELECT count(*)::int AS count FROM saga_steps WHERE saga = 'transfer' AND saga_id = 'd1'");
    expect(rows[0]?.count).toBe(5);
  }, 60_000);

  it('a saga refused for its partition count fails the run, naming it, and the sagas after it still run', async () => {
    const { db, runtime, clock } = bank();
    const [transfer] = runtime.sagas.sagas;
    if (!transfer) throw new Error('the bank has a transfer saga');
    await registerProcessor(db, 'saga:transfer_audit', 4);
    const sagas = createSagaRuntime({ db, bus: runtime.bus, upcaster: runtime.store.upcaster, clock: clock.now, sagas: [{ ...transfer, name: 'transfer_audit', partitions: 2 }, transfer] });
    await open('r-from', 100);
    await open('r-to', 0);
    await requestTransfer('r1', 'r-from', 'r-to', 5);
    await untilFeedHorizonPasses(db);

    const running = sagas.run({ holder: 'refused', deadline: Date.now() + 10_000 });
    await expect(running).rejects.toBeInstanceOf(AggregateError);
    await expect(running).rejects.toThrow(/saga:transfer_audit was registered with 4 partitions, not 2/);

    expect(await statusOf('r1')).toBeDefined();
  }, 60_000);
});
