import type { Db } from '../db';
import type { Checkpoint } from '../eventstore';
import { drainPartition, type Backoff, type DrainReport, type DrainSettings, type HandlerFailure } from './drainPartition';
import type { FeedProcessor } from './FeedProcessor';
import { recordLeaseRanOut } from './failureRecords';
import { holdingLeases } from './holdingLeases';
import { LeaseRanOutError } from './LeaseRanOutError';
import type { AcquiredLease } from './partitionLeases';
import { registerProcessor } from './processorRecords';
import { checkProcessorRun } from './processorRunChecks';
import { hasWorkPast } from './workPastCheckpoint';

export interface ProcessorRunOptions {
  db: Db;
  /** Names this instance in the leases: unique per process (or Lambda container). */
  holder: string;
  /** A partition's lease lasts this long unless renewed; a dead holder's partitions are taken over after it. */
  leaseTtlMs: number;
  /** Epoch ms after which no new batch starts. */
  deadline: number;
  /** Partitions drained at once by this instance: 1 takes them in turn. */
  concurrency: number;
  interruptionBackoff?: Backoff;
  onInterrupted?: DrainSettings['onInterrupted'];
}

export interface ProcessorRun {
  items: number;
  batches: number;
  /** Partitions this run leased and drained. */
  partitions: number[];
  /** Every partition this run drained reached the visible head (and it drained at least one). */
  caughtUp: boolean;
  /** The deadline stopped the run before every leased partition was caught up. */
  stoppedByDeadline: boolean;
  failures: HandlerFailure[];
  lastError: unknown;
}

export const DEFAULT_INTERRUPTION_BACKOFF: Backoff = { baseMs: 200, maxMs: 5_000 };

/** A partition drained to the visible head, and its checkpoint there. */
interface AtTheHead {
  partition: number;
  checkpoint: Checkpoint;
}

/** Claims up to `count` free partitions now. */
async function acquireFree(acquire: () => Promise<AcquiredLease | null>, count: number): Promise<AcquiredLease[]> {
  const leases: AcquiredLease[] = [];
  while (leases.length < count) {
    const lease = await acquire();
    if (!lease) break;
    leases.push(lease);
  }
  return leases;
}

/** The run that took a partition over counts its last holder's lost batch, and reports it as a failure of the run. */
async function countLeaseRanOut<Item, Result>(processor: FeedProcessor<Item, Result>, db: Db, lease: AcquiredLease, lostHolder: string): Promise<HandlerFailure | null> {
  const error = new LeaseRanOutError(lostHolder);
  const recorded = await recordLeaseRanOut(db, lease, error, processor.failurePolicy);
  return recorded && { processor: processor.name, partition: lease.partition, error, state: recorded.state, attempts: recorded.attempts };
}

/**
 * Runs a feed processor until every partition this instance can lease is
 * caught up (or waiting after a failure), or until the deadline. Partitions
 * leased by other instances are theirs; each of this run's leases is released
 * as soon as its partition's drain settles, whether it failed or not.
 */
export async function runFeedProcessor<Item, Result>(processor: FeedProcessor<Item, Result>, options: ProcessorRunOptions): Promise<ProcessorRun> {
  const { db } = options;
  const interruptionBackoff = options.interruptionBackoff ?? DEFAULT_INTERRUPTION_BACKOFF;
  checkProcessorRun(processor, { concurrency: options.concurrency, leaseTtlMs: options.leaseTtlMs, deadline: options.deadline, interruptionBackoff });
  await registerProcessor(db, processor.name, processor.partitions);
  const settings: DrainSettings = {
    db,
    leaseTtlMs: options.leaseTtlMs,
    deadline: options.deadline,
    interruptionBackoff,
    ...(options.onInterrupted ? { onInterrupted: options.onInterrupted } : {}),
  };
  const run: ProcessorRun = { items: 0, batches: 0, partitions: [], caughtUp: false, stoppedByDeadline: false, failures: [], lastError: undefined };
  const reports: DrainReport[] = [];
  const request = { group: processor.name, partitions: processor.partitions, holder: options.holder, ttlMs: options.leaseTtlMs };
  await holdingLeases(db, request, async (runLeases) => {
    const drain = async (lease: AcquiredLease): Promise<DrainReport> => {
      try {
        const lost = lease.tookOverFrom === null ? null : await countLeaseRanOut(processor, db, lease, lease.tookOverFrom);
        const report = await drainPartition(settings, processor, lease);
        return lost ? { ...report, failures: [lost, ...report.failures] } : report;
      } finally {
        await runLeases.drained(lease);
      }
    };
    /** Drains the leases side by side; returns where those that reached the head stopped. */
    const drainAll = async (leases: readonly AcquiredLease[]): Promise<AtTheHead[]> => {
      const settled = await Promise.allSettled(leases.map(drain));
      const atTheHead: AtTheHead[] = [];
      for (const [index, result] of settled.entries()) {
        if (result.status === 'rejected') throw result.reason;
        const partition = leases[index]?.partition ?? -1;
        reports.push(result.value);
        if (!run.partitions.includes(partition)) run.partitions.push(partition);
        const { endedBy, checkpoint } = result.value;
        if (endedBy === 'caught_up' && checkpoint) atTheHead.push({ partition, checkpoint });
      }
      return atTheHead;
    };
    let atTheHead: AtTheHead[] = [];
    while (Date.now() < options.deadline) {
      const leases = await acquireFree(() => runLeases.acquire(), options.concurrency);
      if (leases.length === 0) break;
      atTheHead.push(...(await drainAll(leases)));
    }
    // What was committed after a partition's last read, before the partition was
    // given back, was not read, and a run started for it (nudged by its commit)
    // found the partition held and left. Looked for once the partition is given
    // back, it is this run's to handle; anything committed later finds it free.
    while (atTheHead.length > 0 && Date.now() < options.deadline) {
      const behind: number[] = [];
      for (const { partition, checkpoint } of atTheHead) {
        if (await hasWorkPast(db, processor, partition, checkpoint)) behind.push(partition);
      }
      atTheHead = [];
      for (let from = 0; from < behind.length && Date.now() < options.deadline; from += options.concurrency) {
        const retaken = await Promise.all(behind.slice(from, from + options.concurrency).map((partition) => runLeases.retake(partition)));
        atTheHead.push(...(await drainAll(retaken.filter((lease) => lease !== null))));
      }
    }
  });
  for (const report of reports) {
    run.items += report.items;
    run.batches += report.batches;
    run.failures.push(...report.failures);
    if (report.lastError !== undefined) run.lastError = report.lastError;
  }
  run.caughtUp = reports.length > 0 && reports.every((report) => report.caughtUp);
  run.stoppedByDeadline = reports.some((report) => report.endedBy === 'deadline') || (Date.now() >= options.deadline && !run.caughtUp);
  return run;
}
