import { MAX_POSTGRES_INTEGER, OWN_STATEMENTS_IDLE_MS, type Db, type Queryable } from '../db';
import { describeError } from '../errors';
import { storableText } from '../text';
import type { BatchItemError, BatchRetry } from './BatchItemError';
import type { BatchOutcome } from './batchOutcome';
import type { FailurePolicy } from './failurePolicy';
import type { LeaseRanOutError } from './LeaseRanOutError';
import { releasePartitionLease } from './partitionLeases';
import { PartitionLeaseLostError, type PartitionLease } from './PartitionLease';
import { lockPartitionNotTakenOver, notTakenOver } from './processorRecords';

export interface RecordedFailure {
  state: 'running' | 'failed';
  attempts: number;
}

// The partition gives up after max attempts; until then the next try waits the
// base delay, doubled for each failure before this one, up to the maximum. The
// doubling stops at 2^60, far past any maximum: 2 to the thousandth power is out of
// float8's range, and a policy that never gives up gets there in a day of failing.
// A failure that passes by itself counts its streak in a row: a failure of the other
// kind starts it again (migrations/0022). A handler's own failures are counted since
// the last success, whatever passing failures came between (migrations/0027), and the
// status shows that count while they are the streak.
const attemptsInARow = (retry: string) => `CASE WHEN failure_retry IS DISTINCT FROM ${retry} THEN 1 ELSE attempts + 1 END`;
const failureCounts = (retry: string) => `
  CASE WHEN ${retry} = 'failure_policy' THEN policy_attempts + 1 ELSE ${attemptsInARow(retry)} END AS attempts,
  policy_attempts + CASE WHEN ${retry} = 'failure_policy' THEN 1 ELSE 0 END AS policy_attempts`;

/**
 * The next try's time: the base delay doubled `doublings` times, at most the
 * maximum (both in ms), from the moment the failure is recorded. Not now(): a
 * failed batch is counted in its own transaction, which began before the batch
 * ran, and a batch that ran longer than the delay would retry at once.
 */
const backoffAfter = (doublings: string, baseMs: string, maxMs: string) =>
  `clock_timestamp() + make_interval(secs => least(${baseMs}::float8 * 2 ^ least(${doublings}, 60), ${maxMs}::float8) / 1000.0)`;

// Not on a processor stopped while the batch ran (a build retired by another): no batch
// runs on it again, and its status would show an error and a retry it never makes.
const NOT_STOPPED = 'NOT EXISTS (SELECT FROM feed_processors f WHERE f.name = $1 AND f.stopped_at IS NOT NULL)';

const RECORD_FAILURE_SQL = `
  WITH streak AS (
    SELECT ${failureCounts('$8::text')}
    FROM processor_partitions WHERE processor = $1 AND partition = $2 AND ${NOT_STOPPED}
    FOR UPDATE)
  UPDATE processor_partitions AS p
  SET attempts = s.attempts, policy_attempts = s.policy_attempts, failure_retry = $8, last_error = $3, failed_item_id = $4,
      state = CASE WHEN s.attempts >= $5 THEN 'failed' ELSE 'running' END,
      next_attempt_at = CASE WHEN s.attempts >= $5 THEN NULL
        ELSE ${backoffAfter('s.attempts - 1', '$6', '$7')} END,
      updated_at = clock_timestamp()
  FROM streak AS s
  WHERE p.processor = $1 AND p.partition = $2
  RETURNING p.state, p.attempts`;

/** Counts a failed batch on its partition, in a transaction fenced by the lease; null on a processor stopped meanwhile. */
export async function recordFailure(
  tx: Queryable,
  processor: string,
  partition: number,
  failure: { error: string; itemId: string | null; retry: BatchRetry; policy: FailurePolicy },
): Promise<RecordedFailure | null> {
  const { maxAttempts, baseDelayMs, maxDelayMs } = failure.policy;
  const { rows } = await tx.query<RecordedFailure>(RECORD_FAILURE_SQL, [
    processor,
    partition,
    failure.error,
    // Text PostgreSQL cannot hold (a NUL) would fail the count itself, and the batch be retried at once, unrecorded.
    typeof failure.itemId === 'string' ? storableText(failure.itemId) : null,
    Math.min(maxAttempts, MAX_POSTGRES_INTEGER),
    baseDelayMs,
    maxDelayMs,
    failure.retry,
  ]);
  return rows[0] ?? null;
}

/**
 * Inside the failed batch's transaction, its lease still held: counts its
 * BatchItemError under the processor's policy (one that passes by itself is
 * retried without end) and gives the lease back, so the drain ends here and the
 * next holder does not count the same batch again as a dead holder's
 * (LeaseRanOutError). Nothing is counted on a processor stopped meanwhile.
 */
export async function countFailedBatch(
  tx: Queryable,
  processor: { name: string; failurePolicy: FailurePolicy },
  lease: PartitionLease,
  error: BatchItemError,
): Promise<BatchOutcome> {
  await releasePartitionLease(tx, lease);
  const recorded = await recordFailure(tx, processor.name, lease.partition, {
    error: describeError(error),
    itemId: error.itemId,
    retry: error.retry,
    policy: error.retry === 'until_it_passes' ? { ...processor.failurePolicy, maxAttempts: Number.POSITIVE_INFINITY } : processor.failurePolicy,
  });
  if (!recorded) return { kind: 'inactive' };
  return { kind: 'handler_failed', error, state: recorded.state, attempts: recorded.attempts, items: 0 };
}

/**
 * The same, in a transaction of its own fenced by the lease: for a batch that
 * had no transaction (an external one), or whose transaction was lost with it.
 * A batch may have outlasted its lease's time before it failed (many
 * statements, each within the query bound): counted all the same while no one took
 * the partition over, or its failure would be counted nowhere, the lease given
 * back cleanly and the batch tried again at once, run after run.
 */
export async function countFailedBatchApart(
  db: Db,
  processor: { name: string; failurePolicy: FailurePolicy },
  lease: PartitionLease,
  error: BatchItemError,
): Promise<BatchOutcome> {
  try {
    return await db.transaction(async (tx): Promise<BatchOutcome> => {
      const state = await lockPartitionNotTakenOver(tx, lease);
      // Stopped meanwhile (a build retired by another): no batch runs on it again, so nothing to count.
      if (!state || state.stopped) return { kind: 'inactive' };
      return countFailedBatch(tx, processor, lease, error);
    }, { idleTimeoutMs: OWN_STATEMENTS_IDLE_MS });
  } catch (lost) {
    if (lost instanceof PartitionLeaseLostError) return { kind: 'lease_lost' };
    throw lost;
  }
}

// An external batch the world did not take (NATS away or refusing for a while): its
// partition says why and how many tries in a row, a streak of its own kind (migrations/0035)
// naming no item, without a wait of its own (the run backs off in memory) and never failed.
// A wait an earlier failure recorded that has passed (the partition is being drained) is
// cleared, so the status shows no time gone by and a resume does not list the partition.
// Only while no one took the partition over; the next stored checkpoint clears it.
const RECORD_INTERRUPTION_SQL = `
  UPDATE processor_partitions
  SET attempts = ${attemptsInARow("'interrupted'")}, failure_retry = 'interrupted', last_error = $3, failed_item_id = NULL,
      next_attempt_at = CASE WHEN next_attempt_at > now() THEN next_attempt_at END, updated_at = now()
  WHERE processor = $1 AND partition = $2 AND ${notTakenOver('$4', '$5')} AND ${NOT_STOPPED}`;

/** Records on its partition why an external batch was interrupted. */
export async function recordInterruption(db: Queryable, lease: PartitionLease, error: string): Promise<void> {
  await db.query(RECORD_INTERRUPTION_SQL, [lease.group, lease.partition, error, lease.holder, lease.epoch.toString()], { name: 'processor_record_interruption' });
}


// A holder whose lease ran out before it gave its partition back most often died in a
// batch (a crash, a Lambda's timeout) and rolled it back. Counted as a failure of the
// batch under the processor's policy, so a batch that kills its process every time
// ends as failed instead of being run again for ever: the first since the last success
// is tried again at once (one lost holder is most often a deploy or a timeout elsewhere), each
// further one waits as a handler's failure would, one doubling behind (even a policy
// of one attempt tries a lost batch once more); a wait already recorded (the lost
// holder's own failure) is never shortened. Only while the new lease is held and the
// partition is running. The next successful batch ends the streak, even an idle one.
const RECORD_LEASE_RAN_OUT_SQL = `
  WITH streak AS (
    SELECT ${failureCounts("'failure_policy'")}
    FROM processor_partitions WHERE processor = $1 AND partition = $2 AND state = 'running' AND ${notTakenOver('$4', '$5')}
      AND NOT EXISTS (SELECT FROM feed_processors f WHERE f.name = $1 AND f.stopped_at IS NOT NULL)
    FOR UPDATE)
  UPDATE processor_partitions AS p
  SET attempts = s.attempts, policy_attempts = s.policy_attempts, failure_retry = 'failure_policy', last_error = $3,
      failed_item_id = CASE WHEN s.attempts > 1 THEN p.failed_item_id END,
      state = CASE WHEN s.attempts >= greatest($6, 2) THEN 'failed' ELSE 'running' END,
      next_attempt_at = CASE WHEN s.attempts >= greatest($6, 2) THEN NULL
        ELSE greatest(p.next_attempt_at, CASE WHEN s.attempts > 1
          THEN ${backoffAfter('s.attempts - 2', '$7', '$8')} END) END,
      updated_at = now()
  FROM streak AS s
  WHERE p.processor = $1 AND p.partition = $2
  RETURNING p.state, p.attempts`;

/** Counts, on a partition just taken over, that its last holder's lease ran out in its hands; null when there was nothing to count. */
export async function recordLeaseRanOut(db: Queryable, lease: PartitionLease, error: LeaseRanOutError, policy: FailurePolicy): Promise<RecordedFailure | null> {
  const { rows } = await db.query<RecordedFailure>(
    RECORD_LEASE_RAN_OUT_SQL,
    [lease.group, lease.partition, error.message, lease.holder, lease.epoch.toString(), Math.min(policy.maxAttempts, MAX_POSTGRES_INTEGER), policy.baseDelayMs, policy.maxDelayMs],
    { name: 'processor_record_lease_ran_out' },
  );
  return rows[0] ?? null;
}
