import { describe, expect, it } from 'vitest';
import type { PublishResult } from '../../core/publishing/jetStreamPublishing';
import { RunTally } from '../../core/publishing/publisherRunReport';

const publishedIn = (latencyMs: number): PublishResult => ({
  kind: 'published',
  message: { messageId: `m${latencyMs}`, orderingKey: 'k', subject: 's', payload: '{}', headers: {} },
  duplicate: false,
  latencyMs,
});

/** A run's report after these publishes, in this order. */
function latencyAfter(latencies: readonly number[]) {
  const tally = new RunTally();
  tally.countBatch(latencies.map(publishedIn), new Set(), new Set());
  return tally.finish().latency;
}

describe("a publisher run report's latency", () => {
  it('given four publishes, has as p50 the second fastest: half of them took no longer', () => {
    expect(latencyAfter([40, 10, 30, 20])).toEqual({ p50Ms: 20, p99Ms: 40, maxMs: 40 });
  });

  it('given a hundred publishes, has as p99 the 99th fastest, not the slowest', () => {
    expect(latencyAfter(Array.from({ length: 100 }, (_, index) => 100 - index))).toEqual({ p50Ms: 50, p99Ms: 99, maxMs: 100 });
  });

  it('given one publish, has it as every figure', () => {
    expect(latencyAfter([7])).toEqual({ p50Ms: 7, p99Ms: 7, maxMs: 7 });
  });
});
