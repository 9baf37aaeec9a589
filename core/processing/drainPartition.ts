import type { Db, Queryable } from '../db';
import type { Checkpoint } from '../eventstore';
import type { BatchItemError } from './BatchItemError';
import type { BatchOutcome } from './batchOutcome';
import { externalBatches } from './externalBatch';
import type { FeedProcessor } from './FeedProcessor';
import type { HeldLease, LeasesHeldByRun } from './leasesHeldByRun';
import { renewPartitionLease } from './partitionLeases';
import type { PartitionLease } from './PartitionLease';
import { renewingWhile } from './renewingWhile';
import { reportQuietly } from './reportQuietly';
import { runTransactionalBatch } from './transactionalBatch';

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface DrainSettings {
  db: Db;
  leaseTtlMs: number;
  /** The run's leases: a transactional batch renews those of siblings whose batch is not under way (queued for a connection, counting a lost holder, in afterCommit, being released). */
  leasesHeld: LeasesHeldByRun;
  /** Epoch ms after which no new batch starts. */
  deadline: number;
  /** The pause after an interrupted external batch, doubling while interruptions go on. */
  interruptionBackoff: Backoff;
  /** Told about each interruption and the pause before the next try (a warning to log); what it throws, or rejects with, is ignored. */
  onInterrupted?: (report: { processor: string; partition: number; error: unknown; retryInMs: number }) => unknown;
}

export interface HandlerFailure {
  processor: string;
  partition: number;
  error: BatchItemError;
  state: 'running' | 'failed';
  attempts: number;
}

/** Why a drain ended: its deadline, its partition caught up, or a batch outcome that leaves the partition (an applied, deferred or interrupted batch goes on to the next). */
export type DrainEnd = 'caught_up' | 'deadline' | Exclude<BatchOutcome['kind'], 'applied' | 'deferred' | 'interrupted' | 'past_deadline'>;

export interface DrainReport {
  endedBy: DrainEnd;
  items: number;
  /** Batches that handled items (idle polls not counted). */
  batches: number;
  /** The last batch reached the visible head of the source. */
  caughtUp: boolean;
  /** Where the partition's checkpoint stood after its last batch that applied; undefined when none did. */
  checkpoint: Checkpoint | undefined;
  failures: HandlerFailure[];
  /** The last interruption's error, if the drain met any. */
  lastError: unknown;
  /** Its last batches were interrupted, this many in a row (0 when the last one applied): it was waiting to try again. */
  interruptedInARow: number;
  /**
   * A renewal found the partition taken over: by the drain's end (`lease_lost`),
   * or while its `afterCommit` or a pause ran, after which it may have ended
   * otherwise (caught up, at the deadline).
   */
  leaseLost: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential, with jitter between half and all of it, so interrupted drains do not retry in step. */
function backoffMs(backoff: Backoff, interruptions: number): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** interruptions) * (0.5 + Math.random() / 2);
}

/**
 * Runs batches on one leased partition until it is caught up, fails, waits out
 * a backoff, loses its lease, or meets the deadline. The lease is renewed once
 * half its time is used, measured on this process's own monotonic clock (the
 * database's expiry and this clock are never compared), and before every
 * external batch: nothing locks its lease while it works outside the database,
 * so each starts with a whole lease, and one shorter than the lease is never
 * taken over. A transactional batch holds its lease row locked to its commit.
 */
export async function drainPartition<Item, Result>(settings: DrainSettings, processor: FeedProcessor<Item, Result>, held: HeldLease): Promise<DrainReport> {
  const report: DrainReport = { endedBy: 'deadline', items: 0, batches: 0, caughtUp: false, checkpoint: undefined, failures: [], lastError: undefined, interruptedInARow: 0, leaseLost: false };
  const { handler } = processor;
  const halfUsed = () => performance.now() - held.renewedAt > settings.leaseTtlMs / 2;
  // Renews the lease on `db` (the pool, or a batch's transaction), and keeps the renewed one; null when it was taken over.
  const renewOn = async (db: Queryable): Promise<PartitionLease | null> => {
    const renewed = await renewPartitionLease(db, held.lease, settings.leaseTtlMs);
    if (renewed) {
      held.lease = renewed;
      held.renewedAt = performance.now();
    } else {
      report.leaseLost = true;
    }
    return renewed;
  };
  const whileRenewing = (work: () => Promise<void>) => renewingWhile(held, settings.leaseTtlMs, () => renewOn(settings.db), work);
  // Renewed in the batch's transaction, fenced by the row it has locked: a renewal that
  // finds the lease taken over changes nothing, and the commit's own check stands. The
  // siblings' queued for a connection too (see LeasesHeldByRun).
  const renewBeforeCommit = async (tx: Queryable): Promise<() => void> => {
    if (halfUsed()) await renewOn(tx);
    return settings.leasesHeld.renewSiblingsOf(held, tx);
  };
  // A transactional drain's first batch goes on past the deadline: its lease may come only after
  // the deadline, its statement queued for a connection, in every run alike, and the partition
  // would otherwise never move. An external batch's handler would begin with its deadline passed.
  const goesOnPastTheDeadline = (tried: number) => tried === 0 && handler.mode === 'transactional';
  const batches: { next: (lease: PartitionLease, tried: number) => Promise<BatchOutcome>; readsSettled: () => Promise<void>; reading: () => boolean } =
    handler.mode === 'transactional'
      ? {
          next: (current, tried) =>
            runTransactionalBatch(settings.db, processor, handler, current, {
              deadline: goesOnPastTheDeadline(tried) ? Number.POSITIVE_INFINITY : settings.deadline,
              // Not before: a drain queued for a connection (for this batch, or for a failure counted
              // apart after it) is its siblings' to renew, as is one in afterCommit, whose own renewals queue the same way.
              began: () => {
                held.inBatch = true;
              },
              ended: () => {
                held.inBatch = false;
              },
              renewBeforeCommit,
              afterCommitWithin: whileRenewing,
              leaseTtlMs: settings.leaseTtlMs,
            }),
          readsSettled: () => Promise.resolve(),
          reading: () => false,
        }
      : externalBatches(settings.db, processor, handler, settings);
  // A read the external drain began ahead of a batch it then never handled is waited for before the lease goes back.
  // Given back with a failure counted, or its processor stopped, or lost (a batch found it, or a
  // renewal: report.leaseLost), the lease is not renewed meanwhile: every renewal would fail, or
  // keep what no one needs.
  let leaseGone = false;
  try {
    for (let tried = 0; goesOnPastTheDeadline(tried) || Date.now() < settings.deadline; tried++) {
      // The first batch starts on the lease as acquired, if it was acquired just now: a drain
      // that began later (its run counting a lost holder first) would have its external batch
      // work up to half a lease from there, close to the lease's end or past it.
      const first = tried === 0;
      const renewBeforeBatch = handler.mode === 'external' && (!first || performance.now() - held.renewedAt > settings.leaseTtlMs / 10);
      if ((renewBeforeBatch || halfUsed()) && !(await renewOn(settings.db))) return { ...report, endedBy: 'lease_lost' };
      const outcome = await batches.next(held.lease, tried);
      switch (outcome.kind) {
        case 'applied':
          report.interruptedInARow = 0;
          if (outcome.items > 0) report.batches += 1;
          report.items += outcome.items;
          report.caughtUp = outcome.caughtUp;
          report.checkpoint = outcome.checkpoint;
          if (outcome.caughtUp) return { ...report, endedBy: 'caught_up' };
          break;
        case 'deferred':
          // The next batch renews the lease first (an external one always does), then handles the kept page.
          break;
        case 'interrupted': {
          if (outcome.items > 0) report.batches += 1;
          report.items += outcome.items;
          report.lastError = outcome.error;
          // Each interruption in a row doubles the pause; the report tells an outage by their count.
          const retryInMs = Math.max(0, Math.min(backoffMs(settings.interruptionBackoff, report.interruptedInARow++), settings.deadline - Date.now()));
          reportQuietly(settings.onInterrupted, { processor: processor.name, partition: held.lease.partition, error: outcome.error, retryInMs });
          // Renewed while it waits: a pause longer than the lease is not a dead holder, and
          // another instance taking the partition over would retry at once, pause or not. Cut to
          // the time left once it begins: a renewal due first may have waited for a connection.
          await whileRenewing(() => sleep(Math.max(0, Math.min(retryInMs, settings.deadline - Date.now()))));
          break;
        }
        case 'handler_failed':
          leaseGone = true;
          if (outcome.items > 0) report.batches += 1;
          report.items += outcome.items;
          report.failures.push({ processor: processor.name, partition: held.lease.partition, error: outcome.error, state: outcome.state, attempts: outcome.attempts });
          return { ...report, endedBy: outcome.kind };
        case 'past_deadline':
          return report;
        case 'waiting':
        case 'failed':
          return { ...report, endedBy: outcome.kind };
        case 'inactive':
        case 'lease_lost': {
          // An external batch may have stored some of its items before it found out.
          leaseGone = true;
          const stored = outcome.items ?? 0;
          if (stored > 0) report.batches += 1;
          report.items += stored;
          return { ...report, endedBy: outcome.kind, leaseLost: outcome.kind === 'lease_lost' };
        }
        default: {
          // A new kind of outcome must be handled above: the compiler says so here.
          const unhandled: never = outcome;
          throw new Error(`a batch outcome the drain does not handle: ${JSON.stringify(unhandled)}`);
        }
      }
    }
    return report;
  } finally {
    // Renewed while it waits: a read outlasting the rest of the lease would otherwise have
    // the partition taken over as from a dead holder, counted as an interruption of its own.
    if (batches.reading()) await (leaseGone || report.leaseLost ? batches.readsSettled() : whileRenewing(batches.readsSettled));
  }
}
