import { hash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { CommandBus } from '../../core/commands';
import { newTimeOrderedId } from '../../core/ids/timeOrderedId';
import { freshTraceparent } from '../../core/observability';
import { insertBaselineCommand } from '../support/baselineTables';
import { compareInterleaved, type Comparison } from '../support/compareInterleaved';
import { withPlainPool } from '../support/connections';
import { measureThroughputAndCpu, type Step, type Throughput, type Timing } from '../support/measureThroughput';
import { countRows, expectRowsWritten, tallied } from '../support/writtenRows';

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
 * What a hand-written service would do for the same deposit: take a command id
 * and a correlation id, start a trace, hash the payload to tell a retry from a
 * reuse of the id, and write the event and the idempotency row in one statement.
 * Its ids and trace come from the same generators as the bus's: time-ordered
 * ids, cheaper to make than random ones and cheaper to index.
 */
function depositByHand(pool: pg.Pool, accountId: string): Step {
  const streamId = `account-${accountId}`;
  let version = 1;
  return async () => {
    const commandId = newTimeOrderedId();
    const correlationId = newTimeOrderedId();
    const traceparent = freshTraceparent();
    const payload = { accountId, amount: 100 };
    const payloadHash = hash('sha256', `Deposit\n${JSON.stringify(payload)}`, 'hex');
    version += 1;
    await insertBaselineCommand(
      pool,
      {
        streamId,
        streamType: 'account',
        version,
        eventId: newTimeOrderedId(),
        type: 'MoneyDeposited',
        data: JSON.stringify({ amount: 100 }),
        metadata: JSON.stringify({ correlationId, causationId: commandId, commandId, traceparent }),
      },
      { commandId, commandType: 'Deposit', payloadHash, correlationId },
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
  // Each counted command must have left its event and its idempotency row.
  const checked = async (side: string, tables: { events: string; commands: string }, streams: readonly string[], measure: (tally: { units: number }) => Promise<Throughput>) => {
    const tally = { units: 0 };
    const throughput = await measure(tally);
    const deposits = (pool: pg.Pool) =>
      countRows(pool, `SELECT count(*)::int AS n FROM ${tables.events} WHERE stream_id = ANY ($1::text[]) AND type = 'MoneyDeposited'`, [streams]);
    const records = (pool: pg.Pool) =>
      countRows(pool, `SELECT count(*)::int AS n FROM ${tables.commands} WHERE command_type = 'Deposit' AND outcome ->> 'streamId' = ANY ($1::text[])`, [streams]);
    await expectRowsWritten(url, `${side}: deposits`, deposits, tally.units);
    await expectRowsWritten(url, `${side}: command records`, records, tally.units);
    return throughput;
  };
  const streamsOf = (ids: readonly string[] | undefined) => (ids ?? []).map((id) => `account-${id}`);
  return compareInterleaved(
    `Deposit commands through the bus, concurrency ${concurrency} (baseline: the event and idempotency rows by hand)`,
    'commands/s',
    (round) =>
      checked('the bus', { events: 'events', commands: 'commands' }, streamsOf(accounts[round - 1]), (tally) =>
        measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => tallied(depositThroughBus(bus, accounts[round - 1]?.[worker] ?? ''), tally) }),
      ),
    (round) =>
      checked('by hand', { events: 'baseline_events', commands: 'baseline_commands' }, streamsOf(handAccounts[round - 1]), (tally) =>
        withPlainPool(url, poolSize, (pool) =>
          measureThroughputAndCpu({ ...timing, concurrency, createWorker: (worker) => tallied(depositByHand(pool, handAccounts[round - 1]?.[worker] ?? ''), tally) }),
        ),
      ),
  );
}
