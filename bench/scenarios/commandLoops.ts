import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import { z } from 'zod';
import type { CommandBus } from '../../core/commands';
import type { EventStore } from '../../core/eventstore';
import { runClosedLoop, type LoopResult } from '../support/closedLoop';
import type { Step } from '../support/measureThroughput';
import type { HttpLoad } from './httpLoadClient';

export interface LoopTiming {
  warmupMs: number;
  durationMs: number;
}

/** A round's closed loop, with every operation that was acknowledged (warm-up included), for the round's check. */
export interface RoundResult extends LoopResult {
  acknowledged: number;
}

/** One open account per worker, so workers measure the path rather than contend on one aggregate. */
export async function openAccounts(bus: CommandBus, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  for (const accountId of ids) await bus.execute({ type: 'OpenAccount', payload: { accountId, owner: 'bench', currency: 'EUR' } });
  return ids;
}

/** A deposit of 100 through the bus, counted in `acknowledged.count` once the bus has answered. */
export function depositStep(bus: CommandBus, accountId: string, acknowledged: { count: number }): Step {
  return async () => {
    await bus.execute({ type: 'Deposit', payload: { accountId, amount: 100 } });
    acknowledged.count += 1;
    return 1;
  };
}

// Node 20 does not pass tsx's loader on to worker threads: the worker registers it, then loads the client.
const CLIENT_BOOT = `import('tsx/esm/api')
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./httpLoadClient.ts', import.meta.url).href)}); })`;

const WorkerAnswerSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.object({ perSecond: z.number(), latenciesMs: z.array(z.number()), acknowledged: z.number() }) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

/**
 * Deposits through `POST /commands/Deposit` of the local HTTP runtime, posted
 * from a worker thread (see httpLoadClient.ts), as a client in another process would.
 */
export async function httpDeposits(url: string, accounts: readonly string[], concurrency: number, timing: LoopTiming): Promise<RoundResult> {
  const load: HttpLoad = { url, accounts: [...accounts], concurrency, ...timing };
  const client = new Worker(CLIENT_BOOT, { eval: true, workerData: load });
  try {
    const answer = WorkerAnswerSchema.parse(await once(client, 'message').then(([message]: unknown[]) => message));
    if (!answer.ok) throw new Error(`the HTTP load client failed: ${answer.error}`);
    return answer.result;
  } finally {
    await client.terminate();
  }
}

/** The same deposits through the bus in process: validation, idempotency, load, decide, append. */
export async function busDeposits(bus: CommandBus, accounts: readonly string[], concurrency: number, timing: LoopTiming): Promise<RoundResult> {
  const acknowledged = { count: 0 };
  const result = await runClosedLoop({
    concurrency,
    ...timing,
    createWorker: (index) => {
      const step = depositStep(bus, accounts[index] ?? '', acknowledged);
      return async () => {
        await step();
      };
    },
  });
  return { ...result, acknowledged: acknowledged.count };
}

/**
 * The baseline: the framework's own append (the store the bus appends
 * through) of the same event to a stream of the same type, with no command
 * around it: no validation, no idempotency record, no aggregate. A worker
 * appends to a new stream of its own; the streams are returned for the round's check.
 */
export async function bareAppends(store: EventStore, concurrency: number, timing: LoopTiming): Promise<RoundResult & { streamIds: string[] }> {
  const streamIds: string[] = [];
  let acknowledged = 0;
  const result = await runClosedLoop({
    concurrency,
    ...timing,
    createWorker: () => {
      const streamId = `account-${randomUUID()}`;
      streamIds.push(streamId);
      let version = 0;
      return async () => {
        const appended = await store.appendToStream({
          streamId,
          streamType: 'account',
          expectedVersion: version,
          events: [{ type: 'MoneyDeposited', data: { amount: 100 } }],
        });
        version = appended.nextExpectedVersion;
        acknowledged += 1;
      };
    },
  });
  return { ...result, acknowledged, streamIds };
}

/** Fresh statistics for every table of the scratch database (both sides write the same ones), before a round. */
export async function analyzeTables(pool: pg.Pool): Promise<void> {
  await pool.query('VACUUM ANALYZE');
}

/**
 * The round's check: the streams hold exactly one `MoneyDeposited` per
 * acknowledged operation, or the benchmark fails rather than report a rate
 * for work that was not done (or was done twice).
 */
export async function checkDepositsWritten(pool: pg.Pool, streamIds: readonly string[], acknowledged: number, round: string): Promise<void> {
  const { rows } = await pool.query<{ written: number }>(
    `SELECT count(*)::int AS written FROM events WHERE stream_id = ANY($1::text[]) AND type = 'MoneyDeposited'`,
    [streamIds],
  );
  const written = rows[0]?.written ?? 0;
  if (acknowledged === 0 || written !== acknowledged) {
    throw new Error(`${round}: ${String(acknowledged)} deposits acknowledged, ${String(written)} MoneyDeposited events written`);
  }
}
