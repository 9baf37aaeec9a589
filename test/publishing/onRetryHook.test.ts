import { afterEach, describe, expect, it } from 'vitest';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { runUntil, startPublishingHarness, type PublishingHarness } from './publishingHarness';

const opened_: PublishingHarness[] = [];
afterEach(async () => {
  for (const harness of opened_.splice(0)) await harness.close();
});

/** Runs `work`, then gives what reached the process as unhandled rejections meanwhile (and a moment after). */
async function unhandledRejectionsDuring(work: () => Promise<unknown>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  // Vitest's own listener would fail the file on the first one; this records them instead.
  const listeners = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', record);
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    process.off('unhandledRejection', record);
    for (const listener of listeners) process.on('unhandledRejection', listener);
  }
  return unhandled;
}

describe("the publisher's onRetry hook", () => {
  it('given an async hook that rejects while NATS is away (a logger whose sink is down), ignores the rejection: none is left unhandled, and the retries go on', async () => {
    const h = await startPublishingHarness();
    opened_.push(h);
    await h.store.appendToStream<AccountEvent>({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await untilFeedHorizonPasses(h.db);
    let told = 0;
    const publisher = h.publisher({
      connect: () => Promise.reject(new Error('connection refused')),
      partitions: 1,
      retryBackoff: { baseMs: 50, maxMs: 50 },
      onRetry: async () => {
        told += 1;
        await Promise.resolve();
        throw new Error('the log sink is down');
      },
    });

    const unhandled = await unhandledRejectionsDuring(() => runUntil(publisher, (totals) => totals.retried > 1, 500));

    expect(told).toBeGreaterThan(1);
    expect(unhandled.map(String)).toEqual([]);
  });
});
