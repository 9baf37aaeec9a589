import { PartitionLeaseLostError, renewPartitionLease } from '../leases';
import { applyBatch, type BatchRun } from './applyBatch';
import type { ProjectionHandlerError } from './errors';

export interface DrainRun extends BatchRun {
  leaseTtlMs: number;
  /** Epoch ms after which no new batch starts. */
  deadline: number;
}

export interface DrainReport {
  eventsApplied: number;
  /** Batches that applied events (idle polls not counted). */
  batches: number;
  /** The last batch reached the visible head of the feed. */
  caughtUp: boolean;
  failures: { projection: string; partition: number; error: ProjectionHandlerError; state: 'running' | 'failed'; attempts: number }[];
}

/**
 * Runs batches on one leased partition until it is caught up, fails, waits
 * out a backoff, loses its lease, or meets the deadline. The lease is renewed
 * once half its time is used, so a live holder keeps it and a dead one loses it.
 */
export async function drainPartition(run: DrainRun): Promise<DrainReport> {
  const report: DrainReport = { eventsApplied: 0, batches: 0, caughtUp: false, failures: [] };
  let lease = run.lease;
  while (Date.now() < run.deadline) {
    if (lease.expiresAt.getTime() - Date.now() < run.leaseTtlMs / 2) {
      const renewed = await renewPartitionLease(run.db, lease, run.leaseTtlMs);
      if (!renewed) return report;
      lease = renewed;
    }
    let outcome;
    try {
      outcome = await applyBatch({ ...run, lease });
    } catch (error) {
      // Another instance holds it now (this one stalled past its lease): its work, not a failure.
      if (error instanceof PartitionLeaseLostError) return report;
      throw error;
    }
    switch (outcome.kind) {
      case 'applied':
        if (outcome.events > 0) report.batches += 1;
        report.eventsApplied += outcome.events;
        report.caughtUp = outcome.caughtUp;
        if (outcome.caughtUp) return report;
        break;
      case 'handler_failed':
        report.failures.push({
          projection: run.projection.name,
          partition: lease.partition,
          error: outcome.error,
          state: outcome.state,
          attempts: outcome.attempts,
        });
        return report;
      case 'waiting':
      case 'failed':
      case 'retired':
        return report;
    }
  }
  return report;
}
