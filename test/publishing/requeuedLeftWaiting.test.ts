import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { listParkedMessages, readPublishingStatus, requeueParkedMessage } from '../../core/publishing';
import { opened, uniqueStreamId } from '../support/fixtures';
import { connectNats } from '../support/natsTesting';
import { cleanedUpAfterEach, publishEverything, runUntil, withFullStream, type PublishingHarness } from './publishingHarness';

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

  it('requeued while still ahead of its partition’s checkpoint, and passed by the run’s drain after its requeue turn, is not reported as caught up; the next run sends it', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject, fullStream) => {
      // One partition: a notice its stream holds back, one no stream captures (parked), one that goes out.
      const nowhere = `${h.subjectPrefix}nowhere.notices`;
      await h.store.appendToStream({
        streamId: uniqueStreamId(),
        streamType: 'account',
        expectedVersion: 'no_stream',
        events: [opened()],
        messages: [
          { subject: fullSubject, orderingKey: 'held', body: {} },
          { subject: nowhere, orderingKey: 'nowhere', body: {} },
          { subject: `${h.subjectPrefix}.notices.free`, orderingKey: 'free', body: {} },
        ],
      });
      const publisher = () => h.publisher({ partitions: 1, retryBackoff: { baseMs: 10, maxMs: 20 } });
      await runUntil(publisher(), (totals) => totals.parked >= 1 && totals.published >= 2, 1_000);
      const [parked] = await listParkedMessages(h.db);
      // A stream for it now, and a person requeues it: its partition's checkpoint has not passed it yet.
      const jsm = await jetstreamManager(h.nc);
      await jsm.streams.add({ name: `${h.streamName}_NOWHERE`, subjects: [nowhere] });
      try {
        expect(await requeueParkedMessage(h.db, parked?.messageId ?? '')).toBe(true);
        await jsm.streams.update(fullStream, { max_msgs: 2 });

        // The run that sends the held notice passes the requeued one, after its requeue turn.
        const passing = await runUntil(publisher(), (totals) => totals.published >= 1, 1_000);
        expect(passing.reports.at(-1)).toMatchObject({ requeued: 0, caughtUp: false });
        expect(await readPublishingStatus(h.db)).toMatchObject({ outbox: { backlog: 0 }, parked: 0, requeued: 1 });

        expect(await publisher().run()).toMatchObject({ requeued: 1, caughtUp: true });
        expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 0, requeued: 0 });
      } finally {
        await jsm.streams.delete(`${h.streamName}_NOWHERE`);
      }
    });
  });
});
