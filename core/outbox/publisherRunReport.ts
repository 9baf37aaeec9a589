import type { PublishResult } from './jetStreamPublishing';
import { describeError } from '../errors/describeError';

export interface PublisherRunReport {
  /** Messages JetStream stored in this run. */
  published: number;
  /** Of those, how many it already had (a retry after a lost acknowledgement). */
  duplicates: number;
  /** Messages NATS refused in this run; `parked` of them reached their last attempt. */
  refused: number;
  parked: number;
  /** Publishes that failed because NATS was unreachable or slow; their messages wait. */
  unreachable: number;
  /** Published messages deleted after their retention. */
  cleaned: number;
  /** Whether the run stopped because nothing was left to publish (not the deadline). */
  caughtUp: boolean;
  /** Milliseconds from publish to acknowledgement, over this run's publishes. */
  latency: { p50Ms: number; p99Ms: number; maxMs: number } | null;
  lastError: string | null;
}

export class RunTally {
  private readonly latencies: number[] = [];
  readonly report: PublisherRunReport = {
    published: 0,
    duplicates: 0,
    refused: 0,
    parked: 0,
    unreachable: 0,
    cleaned: 0,
    caughtUp: false,
    latency: null,
    lastError: null,
  };

  count(result: PublishResult): void {
    if (result.kind === 'published') {
      this.report.published++;
      if (result.duplicate) this.report.duplicates++;
      this.latencies.push(result.latencyMs);
      return;
    }
    if (result.kind === 'refused') this.report.refused++;
    else this.report.unreachable++;
    this.report.lastError = describeError(result.error);
  }

  finish(): PublisherRunReport {
    if (this.latencies.length > 0) {
      const sorted = [...this.latencies].sort((a, b) => a - b);
      const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
      this.report.latency = { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    }
    return this.report;
  }
}
