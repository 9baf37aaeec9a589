import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { listParkedMessages, readPublishingStatus, requeueParkedMessage } from '../../core/publishing';
import { uniqueStreamId } from '../support/fixtures';
import { connectNats } from '../support/natsTesting';
import { cleanedUpAfterEach, publishEverything, type PublishingHarness } from './publishingHarness';

const { harness } = cleanedUpAfterEach();

type Attachment = { type: 'StatementAttached'; data: { pdf: string } };

/** `count` events of one stream, each too large for the stream (8 KiB a message) and so parked, then the stream widened and every one requeued. */
async function requeuedAttachments(h: PublishingHarness, count: number): Promise<string[]> {
  const jsm = await jetstreamManager(h.nc);
  await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msg_size: 8 * 1024, duplicate_window: nanos(10 * 60_000) });
  const { events } = await h.store.appendToStream<Attachment>({
    streamId: uniqueStreamId(),
    streamType: 'account',
    expectedVersion: 'no_stream',
    events: Array.from({ length: count }, () => ({ type: 'StatementAttached' as const, data: { pdf: 'x'.repeat(20_000) } })),
  });
  expect(await publishEverything(h.db, h.publisher())).toMatchObject({ parked: count });
  await jsm.streams.update(h.streamName, { max_msg_size: 64 * 1024 });
  for (const { eventId } of events) expect(await requeueParkedMessage(h.db, eventId)).toBe(true);
  return events.map((event) => event.eventId);
}

describe('requeued messages a run leaves waiting', () => {
  it('while NATS is away, are not reported as caught up: the run says NATS left them waiting, and the next run with NATS back sends them', async () => {
    // Given an event parked for its size, the stream since widened, and the message requeued.
    const h = await harness();
    const [eventId] = await requeuedAttachments(h, 1);

    // When a run meets NATS refusing its connection.
    const away = h.publisher({ connect: () => connectNats({ servers: '127.0.0.1:1', maxReconnectAttempts: 0, timeout: 500 }) });
    const report = await away.run({ deadline: Date.now() + 1_500 });

    // Then nothing was sent, and the run does not say it caught up, though no backlog counts the message.
    expect(report).toMatchObject({ requeued: 0, caughtUp: false });
    expect(report.retried).toBeGreaterThan(0);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: eventId, requeuedAt: expect.any(Date) as unknown }]);
    // And the status counts it requeued, no longer parked: it needs no one, only NATS.
    expect(await readPublishingStatus(h.db)).toMatchObject({ events: { backlog: 0 }, parked: 0, requeued: 1 });

    // And once NATS is back, the next run sends it.
    expect(await h.publisher().run()).toMatchObject({ requeued: 1, caughtUp: true });
    expect(await listParkedMessages(h.db)).toEqual([]);
    expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 0, requeued: 0 });
  });

  it('beyond what one turn reads (a page of 100 of a key), are not reported as caught up; the next run sends the rest', async () => {
    const h = await harness();
    await requeuedAttachments(h, 130);

    expect(await h.publisher().run()).toMatchObject({ requeued: 100, retried: 0, caughtUp: false });
    expect(await h.publisher().run()).toMatchObject({ requeued: 30, caughtUp: true });
    expect(await listParkedMessages(h.db)).toEqual([]);
  });
});
