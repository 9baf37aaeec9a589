import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CommandBus } from '../../core/commands';
import { insertBaselineCommand } from '../support/baselineTables';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withPlainPool } from '../support/connections';
import { measureThroughputAndCpu, type Step, type Timing } from '../support/measureThroughput';

/** One open account per worker and round, so workers measure the path rather than contend on one aggregate. */
async function openAccounts(bus: CommandBus, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (const accountId of ids) await bus.execute({ type: 'OpenAccount', payload: { accountId, owner: 'bench', currency: 'EUR' } });
  return ids;
}

function depositThroughBus(bus: CommandBus, accountId: string): Step {
  return async () => {
    await bus.execute({ type: 'Deposit', payload: { accountId, amount: 100 } });
    return 1;
  };
}

/**
 * What a hand-written service would do for the same deposit: take a command id,
 * hash the payload to tell a retry from a reuse of the id, and write the event
 * and the idempotency row in one statement.
 */
function depositByHand(pool: pg.Pool, accountId: string): Step {
  const streamId = `account-${accountId}`;
  let version = 1;
  return async () => {
    const commandId = randomUUID();
    const payload = { accountId, amount: 100 };
    const payloadHash = createHash('sha256').update('Deposit\n').update(JSON.stringify(payload)).digest('hex');
    version += 1;
    await insertBaselineCommand(
      pool,
      {
        streamId,
        streamType: 'account',
        version,
        eventId: randomUUID(),
        type: 'MoneyDeposited',
        data: JSON.stringify({ amount: 100 }),
        metadata: JSON.stringify({ correlationId: commandId, causationId: commandId, commandId }),
      },
      { commandId, commandType: 'Deposit', payloadHash },
    );
    return 1;
  };
}

/**
 * Deposits through the app's own command bus (validation, idempotency record,
 * the cached aggregate, the append) beside a hand-written transaction of the
 * same rows, at the same concurrency, from pools of the same size.
 */
export async function benchmarkBusCommands(url: string, bus: CommandBus, concurrency: number, poolSize: number, timing: Timing): Promise<Comparison> {
  const accounts = [await openAccounts(bus, concurrency), await openAccounts(bus, concurrency)];
  const handAccounts = [accounts[0]?.map(() => randomUUID()) ?? [], accounts[1]?.map(() => randomUUID()) ?? []];
  return compareInterleaved(
    `Deposit commands through the bus, concurrency ${concurrency} (baseline: the event and idempotency rows by hand)`,
    'commands/s',
    (round) =>
      measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => depositThroughBus(bus, accounts[round - 1]?.[worker] ?? '') }),
    (round) =>
      withPlainPool(url, poolSize, (pool) =>
        measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => depositByHand(pool, handAccounts[round - 1]?.[worker] ?? '') }),
      ),
  );
}
