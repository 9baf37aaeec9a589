import type { Db } from '../../core/db';
import type { RecordedEvent } from '../../core/eventstore';
import { getProcessorStatus, type FeedSource } from '../../core/processing';
import { getProjectionStatus, generationTableName, rebuildProjection, type Projection } from '../../core/projections';
import { readPublishingStatus } from '../../core/publishing';
import type { ServiceRuntime } from '../../core/service';
import { jetStreamCopy } from './jetStreamCopy';
import type { Ledger } from './loadDriver';

export interface Invariant {
  name: string;
  holds: boolean;
  detail: string;
  /** What a breach needs looked at, printed under it. */
  evidence?: string[];
}

const one = async <Row extends object>(db: Db, sql: string, params: unknown[] = []): Promise<Row> => {
  const { rows } = await db.query<Row>(sql, params);
  const row = rows[0];
  if (!row) throw new Error(`no row from ${sql}`);
  return row;
};

/**
 * What is still moving: pending commands and saga steps, running sagas, the
 * publishing backlog, projection lag, and the events the saga processors have
 * not read yet (a transfer whose saga has not started is moving too).
 */
export async function stillMoving(runtime: { db: Db; sagas: { processors: readonly { name: string; source: FeedSource<RecordedEvent> }[] } }): Promise<number> {
  const { db } = runtime;
  const pending = await one<{ n: string }>(db, `SELECT (SELECT count(*) FROM commands WHERE status = 'pending')
    + (SELECT count(*) FROM saga_steps WHERE status = 'pending') + (SELECT count(*) FROM saga_instances WHERE phase IN ('running', 'compensating')) AS n`);
  const publishing = await readPublishingStatus(db);
  const backlog = atLeast(publishing.events.backlog, publishing.events.backlogCapped) + atLeast(publishing.outbox.backlog, publishing.outbox.backlogCapped);
  const lag = (await getProjectionStatus(db))
    .flatMap((status) => status.generations)
    .flatMap((generation) => generation.partitions)
    .reduce((sum, partition) => sum + atLeast(partition.lagEvents, partition.lagEventsCapped), 0);
  let sagaLag = 0;
  for (const processor of runtime.sagas.processors) {
    sagaLag += (await getProcessorStatus(db, processor)).reduce((sum, partition) => sum + atLeast(partition.lagItems, partition.lagCapped), 0);
  }
  return Number(pending.n) + backlog + lag + sagaLag;
}

// A count capped with nothing counted (its walk stopped short of the head, past none of its
// items): something may still wait, so it is not yet settled.
const atLeast = (counted: number, capped: boolean) => (counted === 0 && capped ? 1 : counted);

async function money(db: Db, projection: Projection): Promise<Invariant> {
  const [status] = await getProjectionStatus(db, projection.name);
  const table = generationTableName(projection.name, 'accounts', status?.activeGeneration ?? 0);
  const balances = await one<{ total: string }>(db, `SELECT coalesce(sum(balance), 0)::text AS total FROM ${table}`);
  const external = await one<{ total: string; transfers: string }>(db, `
    SELECT coalesce(sum(CASE WHEN type = 'MoneyDeposited' THEN (data->>'amount')::bigint ELSE -(data->>'amount')::bigint END) FILTER (WHERE data->>'transferId' IS NULL), 0)::text AS total,
           coalesce(sum(CASE WHEN type = 'MoneyDeposited' THEN (data->>'amount')::bigint ELSE -(data->>'amount')::bigint END) FILTER (WHERE data->>'transferId' IS NOT NULL), 0)::text AS transfers
    FROM events WHERE stream_type = 'account' AND type IN ('MoneyDeposited', 'MoneyWithdrawn')`);
  const holds = balances.total === external.total && external.transfers === '0';
  return { name: 'money in all accounts = deposits - withdrawals; transfers move none', holds, detail: `balances ${balances.total}, deposits - withdrawals ${external.total}, transfers net ${external.transfers}` };
}

async function transfers(db: Db): Promise<Invariant> {
  const row = await one<{ requested: number; terminal: number; open_sagas: number }>(db, `
    SELECT (SELECT count(*)::int FROM events WHERE type = 'TransferRequested') AS requested,
           (SELECT count(*)::int FROM events e WHERE e.stream_type = 'transfer' AND e.type IN ('TransferCompleted', 'TransferDebitFailed', 'TransferRefunded')) AS terminal,
           (SELECT count(*)::int FROM saga_instances WHERE phase <> 'completed') AS open_sagas`);
  const holds = row.requested === row.terminal && row.open_sagas === 0;
  return {
    name: 'every transfer ended, no saga stuck or running',
    holds,
    detail: `${String(row.terminal)}/${String(row.requested)} ended, ${String(row.open_sagas)} sagas not completed`,
    ...(holds ? {} : { evidence: await openSagaTimelines(db) }),
  };
}

/** Each saga instance not completed: its phase and failure, then its inputs and steps in time order. */
async function openSagaTimelines(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ line: string }>(`
    SELECT line FROM (
      SELECT i.saga_id, i.started_at AS at, 0 AS rank, 0 AS step, format('%s %s: %s, failure %s', i.saga, i.saga_id, i.phase, i.failure) AS line
      FROM saga_instances i WHERE i.phase <> 'completed'
      UNION ALL
      SELECT n.saga_id, n.at, 1, 0, format('  %s input %s %s%s', to_char(n.at, 'HH24:MI:SS.MS'), n.kind, n.summary, CASE WHEN n.applied THEN '' ELSE ' (ignored)' END)
      FROM saga_inputs n JOIN saga_instances i USING (saga, saga_id) WHERE i.phase <> 'completed'
      UNION ALL
      SELECT s.saga_id, s.created_at, 2, s.step, format('  %s step %s %s %s %s: %s after %s tries, settled %s, error %s', to_char(s.created_at, 'HH24:MI:SS.MS'), s.step, s.kind, s.command_type, s.payload, s.status, s.attempts, to_char(s.settled_at, 'HH24:MI:SS.MS'), s.error)
      FROM saga_steps s JOIN saga_instances i USING (saga, saga_id) WHERE i.phase <> 'completed'
    ) timeline ORDER BY saga_id, rank = 0 DESC, at, rank, step`);
  return rows.map((row) => row.line);
}

/** Each projection rebuilt from scratch, then compared row for row with what it served. */
async function projectionsRebuilt(runtime: ServiceRuntime): Promise<Invariant> {
  const differences: string[] = [];
  for (const projection of runtime.service.projections ?? []) {
    const [before] = await getProjectionStatus(runtime.db, projection.name);
    const served = before?.activeGeneration ?? 0;
    const build = await rebuildProjection(runtime.db, projection);
    for (let attempt = 0; attempt < 600; attempt += 1) {
      await runtime.projector.runUntilCaughtUp({ deadline: Date.now() + 5_000 });
      if ((await getProjectionStatus(runtime.db, projection.name))[0]?.activeGeneration === build.generation) break;
    }
    for (const table of projection.tables) {
      const old = generationTableName(projection.name, table, served);
      const rebuilt = generationTableName(projection.name, table, build.generation);
      const diff = await one<{ n: string }>(runtime.db, `SELECT (SELECT count(*) FROM (SELECT * FROM ${old} EXCEPT ALL SELECT * FROM ${rebuilt}) a) + (SELECT count(*) FROM (SELECT * FROM ${rebuilt} EXCEPT ALL SELECT * FROM ${old}) b) AS n`);
      if (Number(diff.n) > 0) differences.push(`${projection.name}.${table}: ${diff.n} rows differ`);
    }
  }
  return { name: 'every projection equals a rebuild from scratch', holds: differences.length === 0, detail: differences.join('; ') || 'identical' };
}

async function acknowledged(db: Db, ledger: Ledger): Promise<Invariant> {
  const eventIds = [...ledger.acknowledged.values()].flat();
  const stored = await one<{ n: number }>(db, 'SELECT count(*)::int AS n FROM events WHERE event_id = ANY ($1::uuid[])', [eventIds]);
  const sent = await one<{ open: number }>(db, "SELECT count(*)::int AS open FROM commands WHERE command_id = ANY ($1::text[]) AND status = 'pending'", [ledger.sent]);
  const known = await one<{ n: number }>(db, 'SELECT count(*)::int AS n FROM commands WHERE command_id = ANY ($1::text[])', [ledger.sent]);
  const holds = stored.n === eventIds.length && sent.open === 0 && known.n === ledger.sent.length;
  return { name: "every acknowledged command's events are stored", holds, detail: `${String(stored.n)}/${String(eventIds.length)} events of ${String(ledger.acknowledged.size)} commands; ${String(known.n - sent.open)}/${String(ledger.sent.length)} sent commands ended` };
}

async function nothingLeft(runtime: ServiceRuntime): Promise<Invariant> {
  const row = await one<{ pending: number; parked: number; steps: number; overdue: number }>(runtime.db, `
    SELECT (SELECT count(*)::int FROM commands WHERE status = 'pending') AS pending, (SELECT count(*)::int FROM parked_messages) AS parked,
           (SELECT count(*)::int FROM saga_steps WHERE status = 'pending') AS steps, (SELECT count(*)::int FROM saga_timeouts WHERE due_at < now()) AS overdue`);
  const moving = await stillMoving(runtime);
  const holds = row.pending + row.parked + row.steps + row.overdue === 0 && moving === 0;
  return { name: 'nothing pending, parked or overdue', holds, detail: `${String(row.pending)} commands pending, ${String(row.parked)} parked, ${String(row.steps)} steps pending, ${String(row.overdue)} timeouts overdue, ${String(moving)} still moving` };
}

export async function checkInvariants(runtime: ServiceRuntime, ledger: Ledger, nats: { url: string; stream: string }): Promise<Invariant[]> {
  const [summaries] = (runtime.service.projections ?? []).filter((projection) => projection.name === 'account_summaries');
  if (!summaries) throw new Error('the service has no account_summaries projection');
  return [
    await money(runtime.db, summaries),
    await transfers(runtime.db),
    ...(await jetStreamCopy(runtime.db, nats.url, nats.stream)),
    await acknowledged(runtime.db, ledger),
    await nothingLeft(runtime),
    await projectionsRebuilt(runtime),
  ];
}
