import { describeError } from '../errors';
import { metrics } from '../observability';
import type { PublishResult } from './jetStreamPublishing';

export interface PublisherRunReport {
  /** Messages JetStream stored in this run (events and integration messages). */
  published: number;
  /** Of those, how many it already had (a retry after a lost acknowledgement). */
  duplicates: number;
  /** Messages refused for good in this run, and parked. */
  parked: number;
  /** Publishes that failed and will be retried: NATS unreachable (each key's first message) or not answering (those of the try's first send), a passing refusal, or routing code that threw. */
  retried: number;
  /** Parked messages a person requeued that this run sent again: counted in `published` too. */
  requeued: number;
  /** Integration messages deleted after their retention. */
  cleaned: number;
  /**
   * The cleanup stopped, its second or its batches used up, with old rows
   * still to look at, its last batch not one that met only rows it must keep:
   * some past their retention may be left, for the next runs.
   */
  cleanupCutShort: boolean;
  /** Why the cleanup failed, if it did: the run's publishing stands, and its report is given all the same. */
  cleanupError: string | null;
  /**
   * Batches the engine counted as failed in this run: a partition taken over
   * from a publisher that died holding it (LeaseRanOutError), its batch
   * counted against the partition. `lastError` says the last of them.
   */
  failures: number;
  /**
   * Partitions this run lost while publishing them, and its requeue turn if that
   * was lost too: it stalled past its lease and another instance took the work
   * over. What went out may go out again (the new holder's batch, the next turn);
   * JetStream drops the copies within its duplicate window.
   */
  leaseLost: number;
  /**
   * Every partition this run drained reached the head (and it drained one): it
   * stopped because nothing was left there, not at the deadline. A partition
   * another instance held, or one waiting out a backoff, it did not look at
   * (a source with only such partitions is left out): `readPublishingStatus`
   * says what waits there. Not caught up either when requeued messages wait
   * for the next run (NATS did not take them, or the requeue turn's pages or
   * time ran out): behind the checkpoints, no backlog counts them.
   */
  caughtUp: boolean;
  /**
   * The deadline cut the run short: a drain it ended, or a partition still free
   * to lease when it came (see the engine's run of the same name). What was
   * left waits for the next run; `caughtUp` speaks only of the partitions drained.
   */
  stoppedByDeadline: boolean;
  /** Milliseconds from publish to acknowledgement, over this run's publishes. */
  latency: { p50Ms: number; p99Ms: number; maxMs: number } | null;
  /** The latest error the run met, of either source (events or outbox), in the order they came. */
  lastError: string | null;
}

/** Adds up a run's publishes as they settle. */
export class RunTally {
  private readonly latencies: number[] = [];
  readonly report: PublisherRunReport = {
    published: 0,
    duplicates: 0,
    parked: 0,
    retried: 0,
    requeued: 0,
    cleaned: 0,
    cleanupCutShort: false,
    cleanupError: null,
    failures: 0,
    leaseLost: 0,
    caughtUp: false,
    stoppedByDeadline: false,
    latency: null,
    lastError: null,
  };

  /**
   * Adds up one batch's results: `parkedIds` are the messages settled by parking
   * (refused for good, or never sent: NATS cannot carry their subject), `parkedNow`
   * those of them this batch parked. The counters go to the metrics once per batch,
   * not once per message: in a function each figure costs a few microseconds
   * of Powertools' time, and a message's own cost is a few tens.
   */
  countBatch(results: readonly PublishResult[], parkedIds: ReadonlySet<string>, parkedNow: ReadonlySet<string>): void {
    const batch = { stored: 0, duplicates: 0, parked: parkedNow.size, retried: 0 };
    for (const result of results) {
      if (result.kind === 'published') {
        if (result.duplicate) batch.duplicates++;
        else batch.stored++;
        this.latencies.push(result.latencyMs);
        metrics.observe('PublishLatency', result.latencyMs, 'milliseconds');
      } else {
        // Refused for good (parked by this batch, or by another run already, counted there), or retried.
        if (!parkedIds.has(result.message.messageId)) batch.retried++;
        this.report.lastError = describeError(result.error);
      }
    }
    this.report.published += batch.stored + batch.duplicates;
    this.report.duplicates += batch.duplicates;
    this.report.parked += batch.parked;
    this.report.retried += batch.retried;
    if (batch.stored > 0) metrics.count('PublishedMessages', batch.stored, { duplicate: 'false' });
    if (batch.duplicates > 0) metrics.count('PublishedMessages', batch.duplicates, { duplicate: 'true' });
    if (batch.parked > 0) metrics.count('MessagesParked', batch.parked);
    if (batch.retried > 0) metrics.count('PublishRetries', batch.retried);
  }

  /** A message its batch could not send for a reason of the publisher's own (its routing code threw): retried, as one NATS refused for a while. */
  countRetry(error: unknown): void {
    this.report.retried += 1;
    this.report.lastError = describeError(error);
    metrics.count('PublishRetries', 1);
  }

  /**
   * An error the engine met as it happened (a batch interrupted, a failure
   * counted): told as they come, from both processors side by side, so the
   * report's last error is the run's latest, not the last processor's.
   */
  noteError(error: unknown): void {
    this.report.lastError = describeError(error);
  }

  /** What the engine reports of a processor's run: the failures it counted (their errors noted as they came). */
  countRun(run: { failures: readonly unknown[]; leaseLost: readonly number[] }): void {
    this.report.failures += run.failures.length;
    this.report.leaseLost += run.leaseLost.length;
  }

  finish(): PublisherRunReport {
    if (this.latencies.length > 0) {
      const sorted = [...this.latencies].sort((a, b) => a - b);
      // Nearest rank: the smallest latency at least this fraction of the publishes took no longer than.
      const at = (fraction: number) => sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] ?? 0;
      this.report.latency = { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    }
    return this.report;
  }
}
