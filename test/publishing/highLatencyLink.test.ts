import { describe, expect, it } from 'vitest';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { connectNats, NATS_URL } from '../support/natsTesting';
import { startSlowLinkProxy } from '../support/slowLinkProxy';
import { cleanedUpAfterEach, expectDeliveredOnceInOrder, publishEverything, type PublishingHarness } from './publishingHarness';

const { defer, harness } = cleanedUpAfterEach();

/** Five new streams of three events each, and a link to NATS whose round trip takes `roundTripMs`. */
async function backlogOverLink(h: PublishingHarness, roundTripMs: number) {
  const streamIds = Array.from({ length: 5 }, () => uniqueStreamId());
  for (const streamId of streamIds) {
    await h.store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
  }
  await untilFeedHorizonPasses(h.db);
  const link = await startSlowLinkProxy(Number(new URL(NATS_URL).port), { delayMs: roundTripMs / 2 });
  defer(() => link.close());
  return { streamIds, connect: () => connectNats({ servers: `nats://127.0.0.1:${link.port}` }) };
}

describe('a link to NATS whose round trip is over half the publish timeout', () => {
  it('publishes every event once, in order: the stream check takes one round trip, as a publish does', async () => {
    const h = await harness();
    // Given a 1 s round trip and acknowledgements awaited for 1.6 s, and a stream not made yet.
    const { streamIds, connect } = await backlogOverLink(h, 1_000);

    await publishEverything(h.db, h.publisher({ connect, publishTimeoutMs: 1_600 }));

    await expectDeliveredOnceInOrder(h, streamIds, 3);
  });

  it('says it was the stream check that went unanswered, where the round trip is longer than the timeout', async () => {
    const h = await harness();
    const { connect } = await backlogOverLink(h, 1_000);

    const report = await h.publisher({ connect, publishTimeoutMs: 800 }).run({ deadline: Date.now() + 2_000 });

    expect(report.published).toBe(0);
    expect(report.lastError).toMatch(/the check of stream \S+ was not answered within 800 ms \(publishTimeoutMs\)/);
  });
});
