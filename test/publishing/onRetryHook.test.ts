import { describe, expect, it } from 'vitest';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { withUnhandledRejections } from '../support/unhandledRejections';
import { cleanedUpAfterEach, runUntil } from './publishingHarness';

const { harness } = cleanedUpAfterEach();

describe("the publisher's onRetry hook", () => {
  it('given an async hook that rejects while NATS is away (a logger whose sink is down), ignores the rejection: none is left unhandled, and the retries go on', async () => {
    const h = await harness();
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

    const { escaped } = await withUnhandledRejections(() => runUntil(publisher, (totals) => totals.retried > 1, 500));

    expect(told).toBeGreaterThan(1);
    expect(escaped.map(String)).toEqual([]);
  });
});
