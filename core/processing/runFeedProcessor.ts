import type { Db } from '../db';
import { drainPartition, type Backoff, type DrainEnd, type DrainReport, type DrainSettings, type HandlerFailure } from './drainPartition';
import type { FeedProcessor } from './FeedProcessor';
import { recordLeaseRanOut } from './failureRecords';
import type { LeaseRelease } from './giveLeaseBack';
import { holdingLeases } from './holdingLeases';
import { LeasesHeldByRun } from './leasesHeldByRun';
import { LeaseRanOutError } from './LeaseRanOutError';
import type { AcquiredLease } from './partitionLeases';
import { registerProcessor } from './processorRecords';
import { reportQuietly } from './reportQuietly';
import { runInSlots, type SlotTurn } from './runInSlots';
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
  /**
   * Told of each failure when it is counted (a lost holder as its partition is
   * taken over, the rest as the partition's drain settles): also of those
   * counted before another partition's drain threw and ended the run, which
   * the run's report never reaches. What it throws, or rejects with, is ignored.
   */
  onFailure?: (failure: HandlerFailure) => unknown;
}

export interface ProcessorRun {
  items: number;
  batches: number;
  /** Partitions this run leased: drained, or left at once (`heldBack`, or the processor stopped). */
  partitions: number[];
  /**
   * Partitions this run leased and left at once, or found so when it retook one
   * it had drained (another instance failed a batch there meanwhile): failed, or
   * waiting out a backoff. Their status says why, and until when.
   */
  heldBack: number[];
  /** Every partition this run drained reached the visible head (and it drained at least one); one it left at once is not counted. */
  caughtUp: boolean;
  /**
   * The deadline stopped the run before it was done: a partition's drain, or
   * the run before it claimed a partition that was free. Not a partition that
   * fails or waits out a backoff, nor one another instance holds, nor one whose
   * destination interrupted its last batches, tried again after a pause and
   * still interrupted (`OUTAGE_INTERRUPTIONS` in a row): it was waiting to try
   * again, and `lastError` says why, an outage rather than a processor short of
   * time. One passing refusal just before the deadline still counts.
   */
  stoppedByDeadline: boolean;
  /**
   * Partitions whose lease this run lost while draining them: it stalled past the
   * lease and another instance took the partition over (found by a renewal, a
   * batch's fenced check, or only as the run gave the lease back, when the first
   * try of that says so). What its last batch did outside the database may be
   * done again by the new holder.
   */
  leaseLost: number[];
  failures: HandlerFailure[];
  /** The last interruption's error (an external batch's destination away, say); undefined when none. A failure counted is in `failures`, not here. */
  lastError: unknown;
}

// A drain that ended so found the partition with nothing for it to do now: it ran no batch.
const HELD_BACK: ReadonlySet<DrainEnd> = new Set(['failed', 'waiting']);
const LEFT_AT_ONCE: ReadonlySet<DrainEnd> = new Set([...HELD_BACK, 'inactive']);

export const DEFAULT_INTERRUPTION_BACKOFF: Backoff = { baseMs: 200, maxMs: 5_000 };

/** Interruptions in a row at the deadline that make a drain's end an outage's, not the deadline's. */
const OUTAGE_INTERRUPTIONS = 2;

/**
 * How long a slot that found no partition free waits to look again while
 * another slot drains: partitions another instance gives back meanwhile are
 * drained within it, not after the other slot's drain (minutes, catching up).
 * One waiting slot at a time looks; a look is one to three lease statements.
 */
const LOOK_AGAIN_AFTER_MS = 1_000;

const addOnce = (partitions: number[], partition: number) => {
  if (!partitions.includes(partition)) partitions.push(partition);
};

/** One partition's drain and the drain that followed it on the same partition: the second says how it ended. */
function followedBy(first: DrainReport, second: DrainReport): DrainReport {
  return {
    ...second,
    items: first.items + second.items,
    batches: first.batches + second.batches,
    failures: [...first.failures, ...second.failures],
    lastError: second.lastError ?? first.lastError,
    leaseLost: first.leaseLost || second.leaseLost,
  };
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
 * as soon as its partition's drain settles, whether it failed or not, and a
 * partition drained to the head is looked past once more after its release.
 */
export async function runFeedProcessor<Item, Result>(processor: FeedProcessor<Item, Result>, options: ProcessorRunOptions): Promise<ProcessorRun> {
  const { db } = options;
  const interruptionBackoff = options.interruptionBackoff ?? DEFAULT_INTERRUPTION_BACKOFF;
  checkProcessorRun(processor, { ...options, interruptionBackoff });
  await registerProcessor(db, processor.name, processor.partitions);
  const settings: DrainSettings = {
    db,
    leaseTtlMs: options.leaseTtlMs,
    leasesHeld: new LeasesHeldByRun(options.leaseTtlMs),
    deadline: options.deadline,
    interruptionBackoff,
    ...(options.onInterrupted ? { onInterrupted: options.onInterrupted } : {}),
  };
  // A report that fails must not stop the work it reports on, nor skip a partition's drain.
  const tell = (failure: HandlerFailure) => {
    reportQuietly(options.onFailure, failure);
  };
  const run: ProcessorRun = { items: 0, batches: 0, partitions: [], heldBack: [], caughtUp: false, stoppedByDeadline: false, leaseLost: [], failures: [], lastError: undefined };
  const reports: DrainReport[] = [];
  // Partitions a drain of this run worked on, rather than leaving them at once.
  const worked = new Set<number>();
  const request = { group: processor.name, partitions: processor.partitions, holder: options.holder, ttlMs: options.leaseTtlMs };
  // Whether the deadline ended the leasing with a partition still free to lease.
  const leftFreeAtDeadline = await holdingLeases(db, request, async (runLeases): Promise<boolean> => {
    const drainOnce = async (lease: AcquiredLease): Promise<{ report: DrainReport; released: boolean }> => {
      let report: DrainReport;
      let release: LeaseRelease;
      // In the siblings' care from the claim until the release has settled, judged from when the lease
      // was asked for: the count of a lost holder before the drain, and the release after it, may wait
      // for a connection behind their batches, and a lease left to run out meanwhile is taken from a live holder.
      const held = settings.leasesHeld.hold(lease, lease.askedAt);
      try {
        try {
          const lost = lease.tookOverFrom === null ? null : await countLeaseRanOut(processor, db, lease, lease.tookOverFrom);
          if (lost) tell(lost);
          const drained = await drainPartition(settings, processor, held);
          for (const failure of drained.failures) tell(failure);
          report = lost ? { ...drained, failures: [lost, ...drained.failures] } : drained;
        } finally {
          release = await runLeases.drained(lease);
        }
      } finally {
        settings.leasesHeld.release(held);
      }
      // A drain that ended holding its lease, as it believed, found it taken over past its
      // last renewal (a batch that stalled past the lease and the deadline, a release that
      // waited for a connection): lost all the same. One that failed gave it back itself.
      const lostUnseen = release === 'taken_over' && (report.endedBy === 'deadline' || report.endedBy === 'caught_up');
      return { report: lostUnseen ? { ...report, leaseLost: true } : report, released: release === 'released' };
    };
    // What was committed after a partition's last read, before the partition was
    // given back, was not read, and a run started for it (nudged by its commit)
    // found the partition held and left. Looked for once the partition is given
    // back, it is this run's to handle: what is committed after the look finds the
    // partition free. Once per partition, so a run under steady writes still ends.
    // A lease that could not be given back is still this run's in the database: a
    // retake would find it held, or take it over from this run as from a dead holder.
    // Set by a slot's turn that threw: the run ends, and the other slots lease no more, a retake included.
    let aTurnThrew = false;
    // Read through a call: set by another slot while this one awaits, which the compiler's narrowing does not see.
    const aTurnHasThrown = () => aTurnThrew;
    const drain = async (lease: AcquiredLease): Promise<DrainReport> => {
      const { report: first, released } = await drainOnce(lease);
      if (!released || first.endedBy !== 'caught_up' || !first.checkpoint || aTurnHasThrown()) return first;
      if (!(await hasWorkPast(db, processor, lease.partition))) return first;
      if (Date.now() >= options.deadline) return { ...first, endedBy: 'deadline', caughtUp: false };
      // Asked again: a sibling may have thrown while the look was out.
      if (aTurnHasThrown()) return first;
      const again = await runLeases.retake(lease.partition);
      // Taken by another instance meanwhile: the rest is its to handle.
      return again ? followedBy(first, (await drainOnce(again)).report) : first;
    };
    // Each slot leases and drains one partition after another (see runInSlots).
    let leftFree = false;
    const turn = async (found: () => void): Promise<SlotTurn> => {
      // Every partition taken by this run: a look could only find nothing, again after each drain.
      if (runLeases.leasedEvery()) return 'stop';
      if (Date.now() >= options.deadline) {
        if (await runLeases.anyLeftFree()) leftFree = true;
        return 'stop';
      }
      const lease = await runLeases.acquire();
      if (!lease) return 'found_nothing';
      // Others may be free too (another instance gave several back): the idle slots look now, not after this drain.
      found();
      const report = await drain(lease);
      reports.push(report);
      // Listed once, though a claim the server ran late may have taken it back (see holdingLeases):
      // held back only if no drain of it in this run did more than leave it at once.
      addOnce(run.partitions, lease.partition);
      if (!LEFT_AT_ONCE.has(report.endedBy)) worked.add(lease.partition);
      if (HELD_BACK.has(report.endedBy)) addOnce(run.heldBack, lease.partition);
      if (report.leaseLost) addOnce(run.leaseLost, lease.partition);
      return 'worked';
    };
    await runInSlots(options.concurrency, LOOK_AGAIN_AFTER_MS, (found) =>
      turn(found).catch((error: unknown) => {
        aTurnThrew = true;
        throw error;
      }),
    );
    return leftFree;
  });
  run.heldBack = run.heldBack.filter((partition) => !worked.has(partition));
  for (const report of reports) {
    run.items += report.items;
    run.batches += report.batches;
    run.failures.push(...report.failures);
    if (report.lastError !== undefined) run.lastError = report.lastError;
  }
  const drained = reports.filter((report) => !LEFT_AT_ONCE.has(report.endedBy));
  run.caughtUp = drained.length > 0 && drained.every((report) => report.caughtUp);
  run.stoppedByDeadline = leftFreeAtDeadline || reports.some((report) => report.endedBy === 'deadline' && report.interruptedInARow < OUTAGE_INTERRUPTIONS);
  return run;
}
