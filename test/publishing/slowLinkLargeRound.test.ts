import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { eventRouting } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, uniqueStreamId } from '../support/fixtures';
import { connectNats, NATS_URL, readStoredMessages } from '../support/natsTesting';
import { startSlowLinkProxy } from '../support/slowLinkProxy';
import { cleanedUpAfterEach, publishEverything } from './publishingHarness';

const { defer, harness } = cleanedUpAfterEach();

const STREAMS = 100;
const BODY_CHARACTERS = 200_000;
const LINK_BYTES_PER_SECOND = 5_000_000;

describe('a round of large messages over a link slower than the round', () => {
  it('goes out once, without a timeout or a duplicate: each partition\'s sends are small enough to cross together within the publish timeout', async () => {
    const h = await harness();
    const link = await startSlowLinkProxy(Number(new URL(NATS_URL).port), { bytesPerSecond: LINK_BYTES_PER_SECOND });
    defer(() => link.close());
    // Given a backlog of one large event on each of 100 streams: one round of 20 MB, four seconds on the link.
    const streamIds = Array.from({ length: STREAMS }, () => uniqueStreamId());
    for (const streamId of streamIds) {
      await h.store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [{ type: 'StatementAttached', data: { pdf: 'x'.repeat(BODY_CHARACTERS) } }] });
    }
    await untilFeedHorizonPasses(h.db);
    // When a publisher whose acknowledgements may take 3 s sends them over that link, its four partitions at once on one connection.
    const publisher = h.publisher({ connect: () => connectNats({ servers: `nats://127.0.0.1:${link.port}` }), publishTimeoutMs: 3_000, partitions: 4 });

    const totals = await publishEverything(h.db, publisher);

    // Then each went out once: no try timed out and was sent again behind its own bytes.
    expect({ published: totals.published, duplicates: totals.duplicates, retried: totals.retried }).toEqual({ published: STREAMS, duplicates: 0, retried: 0 });
    expect(link.bytesUp()).toBeLessThan(STREAMS * BODY_CHARACTERS * 1.2);
    expect(await readStoredMessages(h.nc, h.streamName)).toHaveLength(STREAMS);
  });
});

describe('a round of large messages on a link far too slow for it', () => {
  it('waits out one send of it, not each: the round\'s other keys wait for the next batch', async () => {
    const h = await harness();
    // 200 KB/s: the stream's check crosses at once, a send of 1 MiB takes five seconds.
    const link = await startSlowLinkProxy(Number(new URL(NATS_URL).port), { bytesPerSecond: 200_000 });
    defer(() => link.close());
    const publisher = h.publisher({
      connect: () => connectNats({ servers: `nats://127.0.0.1:${link.port}` }),
      publishTimeoutMs: 1_000,
      partitions: 1,
      leaseTtlMs: 20_000,
      // One try in the run: an interrupted batch waits past the deadline.
      retryBackoff: { baseMs: 10_000, maxMs: 10_000 },
    });
    // Given a backlog of one round of three 1 MiB sends.
    for (let stream = 0; stream < 15; stream++) {
      await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [{ type: 'StatementAttached', data: { pdf: 'x'.repeat(BODY_CHARACTERS) } }] });
    }
    await untilFeedHorizonPasses(h.db);

    // When a run goes on past the first send's timeout.
    const report = await publisher.run({ deadline: Date.now() + 1_500 });

    // Then only the first send's five messages waited out the timeout, and were retried.
    expect({ published: report.published, retried: report.retried }).toEqual({ published: 0, retried: 5 });
  });
});

describe('a round of several sends whose first holds a message parked as unanswered', () => {
  it('goes on with its other sends in the same batch: a stream that never acknowledges says nothing of the link', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    const audit = `${h.streamName}_AUDIT`;
    const subject = `audit${h.subjectPrefix}.attached`;
    await jsm.streams.add({ name: audit, subjects: [subject], no_ack: true });
    defer(() => jsm.streams.delete(audit));
    // Given one event routed to a subject a no_ack stream captures, then sixteen large ones: four sends of one round.
    const audited = uniqueStreamId();
    await h.store.appendToStream({ streamId: audited, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    for (let stream = 0; stream < 16; stream++) {
      await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [{ type: 'StatementAttached', data: { pdf: 'x'.repeat(BODY_CHARACTERS) } }] });
    }
    await untilFeedHorizonPasses(h.db);
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.streamId === audited ? subject : undefined) });

    const report = await h.publisher({ routing, partitions: 1, publishTimeoutMs: 500 }).run();

    expect({ published: report.published, parked: report.parked, retried: report.retried }).toEqual({ published: 16, parked: 1, retried: 0 });
    expect(report.lastError).not.toMatch(/stopped short/);
  });
});
