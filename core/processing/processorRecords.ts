import type { Queryable } from '../db';
import type { Checkpoint } from '../eventstore';
import { PartitionLeaseLostError, type PartitionLease } from './PartitionLease';
import { isStorableName } from './partitionLeases';
import { ProcessorDefinitionError } from './ProcessorDefinitionError';
import { checkNameAndPartitions } from './processorRunChecks';
import { UnknownProcessorError } from './UnknownProcessorError';

// The processor's row fixes its partition count at the first registration; its
// partitions start where the row says (the start of the source unless set).
const REGISTER_SQL = `
  WITH registered AS (
    INSERT INTO feed_processors AS f (name, partitions) VALUES ($1, $2)
    ON CONFLICT (name) DO UPDATE SET partitions = coalesce(f.partitions, EXCLUDED.partitions)
    RETURNING f.partitions, f.start_tx, f.start_position
  ), created AS (
    INSERT INTO processor_partitions (processor, partition, checkpoint_tx, checkpoint_position)
    SELECT $1, p, r.start_tx, r.start_position FROM registered r, generate_series(0, r.partitions - 1) AS p
    WHERE r.partitions = $2
    ON CONFLICT DO NOTHING
  )
  SELECT partitions FROM registered`;

/** Makes sure the processor and its partitions exist; a different partition count than registered is refused. */
export async function registerProcessor(db: Queryable, name: string, partitions: number): Promise<void> {
  checkNameAndPartitions(name, partitions);
  const { rows } = await db.query<{ partitions: number }>(REGISTER_SQL, [name, partitions], { name: 'processor_register' });
  checkRegisteredCount(name, rows[0]?.partitions, partitions);
}

/** Refuses code that splits a processor's source otherwise than its checkpoints were stored under. */
function checkRegisteredCount(name: string, registered: number | null | undefined, partitions: number): void {
  if (registered !== partitions) {
    throw new ProcessorDefinitionError(
      `${name} was registered with ${String(registered)} partitions, not ${partitions}: keep the count, or start a new processor`,
    );
  }
}

export interface PartitionState {
  checkpoint: Checkpoint;
  state: 'running' | 'failed';
  /** The processor was stopped for good: no more batches. */
  stopped: boolean;
  caughtUp: boolean;
  /** When a retry after a failure is due, if it is not yet. */
  waitUntil: Date | null;
  /** A failure streak, or the error of one resumed by hand, is recorded: the next successful batch clears it, even one with nothing to store. */
  failing: boolean;
}

interface PartitionRow {
  stopped: boolean;
  checkpoint_tx: string;
  checkpoint_position: string;
  state: 'running' | 'failed';
  caught_up: boolean;
  wait_until: Date | null;
  failing: boolean;
}

// A partition with a failure since its last success: waiting out a backoff, or retried after one.
const FAILING = '(p.attempts > 0 OR p.last_error IS NOT NULL)';
const STOPPED = 'f.stopped_at IS NOT NULL';

const STATE_COLUMNS = `p.checkpoint_tx, p.checkpoint_position, p.state, p.caught_up_at IS NOT NULL AS caught_up,
  CASE WHEN p.next_attempt_at > now() THEN p.next_attempt_at END AS wait_until, ${STOPPED} AS stopped,
  ${FAILING} AS failing`;

const PARTITION = 'processor_partitions p JOIN feed_processors f ON f.name = p.processor WHERE p.processor = $1 AND p.partition = $2';

// FOR UPDATE: whoever advances this checkpoint holds the row until commit, and the
// next writer reads the checkpoint only after that: a compare-and-set.
const LOCK_SQL = `SELECT ${STATE_COLUMNS}, f.partitions AS registered FROM ${PARTITION} FOR UPDATE OF p`;
const READ_SQL = `SELECT ${STATE_COLUMNS} FROM ${PARTITION}`;

const toState = (row: PartitionRow): PartitionState => ({
  checkpoint: { txId: BigInt(row.checkpoint_tx), position: BigInt(row.checkpoint_position) },
  state: row.state,
  stopped: row.stopped,
  caughtUp: row.caught_up,
  waitUntil: row.wait_until,
  failing: row.failing,
});

// The lease check and the checkpoint's lock in one round trip: the lease row is
// share-locked until commit, so no new holder can acquire it while this batch runs.
// An acquirer moves the epoch: a lease whose time ran out with no one taking it over
// is still its holder's.
const LOCK_NOT_TAKEN_OVER_SQL = `
  SELECT EXISTS (
      SELECT FROM partition_leases l
      WHERE l.lease_group = $1 AND l.partition = $2 AND l.holder = $3 AND l.epoch = $4
      FOR SHARE
    ) AS held, ${STATE_COLUMNS}
  FROM ${PARTITION} FOR UPDATE OF p`;

/**
 * Inside a batch's transaction: throws PartitionLeaseLostError once another
 * holder took the partition over, also while its lease's time has run out, and
 * locks the partition's checkpoint; null when the processor has no such partition.
 */
export async function lockPartitionNotTakenOver(tx: Queryable, lease: PartitionLease): Promise<PartitionState | null> {
  const { rows } = await tx.query<PartitionRow & { held: boolean }>(
    LOCK_NOT_TAKEN_OVER_SQL,
    [lease.group, lease.partition, lease.holder, lease.epoch.toString()],
    { name: 'processor_lock_not_taken_over_partition' },
  );
  const row = rows[0];
  if (row && !row.held) throw new PartitionLeaseLostError(lease);
  return row ? toState(row) : null;
}

// A partition failed, failing or stopped holds the whole processor back; otherwise, whether
// every one has reached the head once.
const CAUGHT_UP_ONCE_SQL = `
  SELECT bool_or(p.state <> 'running' OR ${FAILING} OR ${STOPPED}) AS held,
         count(*) FILTER (WHERE p.caught_up_at IS NOT NULL) = $2 AS every
  FROM processor_partitions p JOIN feed_processors f ON f.name = p.processor WHERE p.processor = $1`;

/**
 * Whether every partition of the processor has reached the head of its source
 * once ('caught_up_once': a build run in turns, none of which saw all its
 * partitions, may then be caught up, as a switch's own catch-up finds out),
 * or one is failed, failing or stopped ('held'), or neither yet.
 */
export async function partitionsCaughtUpOnce(db: Queryable, processor: { name: string; partitions: number }): Promise<'caught_up_once' | 'held' | 'not_yet'> {
  const { rows } = await db.query<{ held: boolean | null; every: boolean }>(CAUGHT_UP_ONCE_SQL, [processor.name, processor.partitions], { name: 'processor_partitions_caught_up_once' });
  const row = rows[0];
  if (row?.held === true) return 'held';
  return row?.every === true ? 'caught_up_once' : 'not_yet';
}

// Every checkpoint row of a processor, in partition order (see lockAllPartitions).
const LOCK_ALL_SQL = 'SELECT partition FROM processor_partitions WHERE processor = $1 ORDER BY partition FOR UPDATE';

/**
 * Inside a transaction about to run batches on several partitions: locks all
 * their checkpoints first, in order. Locked one at a time, between batches,
 * it would hold one partition's while it waited for another's, whose batch
 * may wait in turn for a row this transaction's handlers wrote (a total kept
 * across partitions): a deadlock, which PostgreSQL ends by failing one of them.
 */
export async function lockAllPartitions(tx: Queryable, processor: string): Promise<void> {
  await tx.query(LOCK_ALL_SQL, [processor], { name: 'processor_lock_all_partitions' });
}

/**
 * Locks a partition's checkpoint; null when the processor has no such partition.
 * Refuses, as registration does, code of another partition count than registered:
 * read under another split, the partition's events would be passed over, or another's taken.
 */
export async function lockPartition(tx: Queryable, processor: { name: string; partitions: number }, partition: number): Promise<PartitionState | null> {
  const { rows } = await tx.query<PartitionRow & { registered: number | null }>(LOCK_SQL, [processor.name, partition], { name: 'processor_lock_partition' });
  const row = rows[0];
  if (!row) return null;
  if (row.registered !== null) checkRegisteredCount(processor.name, row.registered, processor.partitions);
  return toState(row);
}

export async function readPartition(db: Queryable, processor: string, partition: number): Promise<PartitionState | null> {
  const { rows } = await db.query<PartitionRow>(READ_SQL, [processor, partition], { name: 'processor_read_partition' });
  return rows[0] ? toState(rows[0]) : null;
}

// Stored at the end of a batch's transaction: its times are the statement's, not
// the transaction's start, which a slow batch puts well before.
const ADVANCE_SET = `checkpoint_tx = $3::xid8, checkpoint_position = $4, items_processed = items_processed + $5,
  caught_up_at = CASE WHEN $6::boolean THEN coalesce(caught_up_at, clock_timestamp()) ELSE caught_up_at END,
  attempts = 0, policy_attempts = 0, failure_retry = NULL, last_error = NULL, failed_item_id = NULL, next_attempt_at = NULL, updated_at = clock_timestamp()`;

const ADVANCE_SQL = `UPDATE processor_partitions SET ${ADVANCE_SET} WHERE processor = $1 AND partition = $2`;

export interface Advance {
  checkpoint: Checkpoint;
  items: number;
  caughtUp: boolean;
}

const advanceParams = (processor: string, partition: number, advance: Advance) => [
  processor,
  partition,
  advance.checkpoint.txId.toString(),
  advance.checkpoint.position.toString(),
  advance.items,
  advance.caughtUp,
];

/** Stores the checkpoint after a batch, in the batch's transaction (the row is locked), and clears any failure. */
export async function advanceCheckpoint(tx: Queryable, processor: string, partition: number, advance: Advance): Promise<void> {
  await tx.query(ADVANCE_SQL, advanceParams(processor, partition, advance), { name: 'processor_advance' });
}

// The processor's partition ($1, $2) is still the lease's whose holder and epoch are
// these parameters: no one took it over.
export const notTakenOver = (holder: string, epoch: string) => `EXISTS (
      SELECT FROM partition_leases l
      WHERE l.lease_group = $1 AND l.partition = $2 AND l.holder = ${holder} AND l.epoch = ${epoch}
      FOR SHARE)`;

// Outside a transaction: only from the checkpoint the batch started at, and only
// if no one took the partition over, in one statement. A stalled holder whose
// lease was taken over stores nothing. One whose lease only ran out while its
// batch published stores what it did: no one else has worked on the partition
// since (an acquirer moves the epoch), and the share lock keeps acquirers off
// until the statement ends.
const ADVANCE_FENCED_SQL = `
  UPDATE processor_partitions SET ${ADVANCE_SET}
  WHERE processor = $1 AND partition = $2 AND checkpoint_tx = $7::xid8 AND checkpoint_position = $8
    AND ${notTakenOver('$9', '$10')}`;

/** Moves the checkpoint from `from`, fenced by the lease; false when another holder or the checkpoint moved on. */
export async function advanceCheckpointFenced(
  db: Queryable,
  lease: PartitionLease,
  from: Checkpoint,
  advance: Advance,
): Promise<boolean> {
  const { rowCount } = await db.query(
    ADVANCE_FENCED_SQL,
    [...advanceParams(lease.group, lease.partition, advance), from.txId.toString(), from.position.toString(), lease.holder, lease.epoch.toString()],
    { name: 'processor_advance_fenced' },
  );
  return rowCount === 1;
}

/** Whether the processor was stopped for good; one never registered is not. */
export async function isProcessorStopped(db: Queryable, name: string): Promise<boolean> {
  const { rows } = await db.query<{ stopped: boolean }>('SELECT stopped_at IS NOT NULL AS stopped FROM feed_processors WHERE name = $1', [name], {
    name: 'processor_stopped',
  });
  return rows[0]?.stopped ?? false;
}

/**
 * Stops a processor for good, in the caller's transaction: its partitions take
 * no more batches, but one already waiting on its partition's lock may still
 * run once. Answers whether a processor of that name is registered, and so
 * stopped now: false for a name no run has registered yet (a misspelt one, say),
 * which stops nothing, and a run of it later runs.
 */
export async function stopProcessor(tx: Queryable, name: string): Promise<boolean> {
  // No processor can have such a name: asked for, PostgreSQL would refuse the text itself.
  if (!isStorableName(name)) return false;
  const { rowCount } = await tx.query('UPDATE feed_processors SET stopped_at = coalesce(stopped_at, now()) WHERE name = $1', [name]);
  return rowCount === 1;
}

// A stopped processor takes no more batches: its partitions are not resumed, nor said to be.
const RESUME_SQL = `
  UPDATE processor_partitions p SET state = 'running', attempts = 0, policy_attempts = 0, next_attempt_at = NULL, updated_at = now()
  FROM feed_processors f
  WHERE f.name = p.processor AND f.stopped_at IS NULL
    AND p.processor = ANY ($1::text[]) AND (p.state = 'failed' OR p.next_attempt_at IS NOT NULL)
  RETURNING p.processor, p.partition`;

const UNKNOWN_SQL = 'SELECT n AS name FROM unnest($1::text[]) AS n WHERE NOT EXISTS (SELECT FROM feed_processors f WHERE f.name = n)';

/**
 * Puts failed partitions back to work (after the handler or the data was
 * fixed), with fresh attempts and no wait. Their last error stays visible until
 * a batch succeeds. Returns the partitions resumed: none of a stopped processor.
 * A name never registered is an UnknownProcessorError, and nothing is resumed.
 */
export async function resumeProcessors(db: Queryable, processors: readonly string[]): Promise<{ processor: string; partition: number }[]> {
  // One name given as is would be read as an array literal, and refused by the database untyped.
  // Array.from, not every() alone: every() skips a hole, which the driver sends as NULL.
  const given: unknown = processors;
  if (!Array.isArray(given) || !Array.from(given).every((name) => typeof name === 'string')) {
    throw new ProcessorDefinitionError('resumeProcessors needs a list of processor names');
  }
  // A name text cannot hold (a NUL) names no processor, and the database would refuse the statement.
  const unstorable = processors.filter((name) => !isStorableName(name));
  if (unstorable.length > 0) throw new UnknownProcessorError(unstorable);
  const { rows: unknown } = await db.query<{ name: string }>(UNKNOWN_SQL, [processors]);
  if (unknown.length > 0) throw new UnknownProcessorError(unknown.map((row) => row.name));
  const { rows } = await db.query<{ processor: string; partition: number }>(RESUME_SQL, [processors]);
  return rows;
}
