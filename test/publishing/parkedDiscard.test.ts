import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { addMetricsSink, configureLogging, type LogFields } from '../../core/observability';
import { discardParkedMessage, listParkedMessages, parkMessages, ParkedSourceError, readPublishingStatus, requeueParkedMessage, type ParkedSource } from '../../core/publishing';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { cleanedUpAfterEach, messagesOf, publishEverything, type PublishingHarness } from './publishingHarness';

const { harness } = cleanedUpAfterEach();

const warnings: { message: string; fields: LogFields }[] = [];
configureLogging((level, message, fields) => {
  if (level === 'warn') warnings.push({ message, fields });
});
const discardedCounts: number[] = [];
addMetricsSink({
  count: (name, value) => {
    if (name === 'MessagesDiscarded') discardedCounts.push(value);
  },
  observe: () => undefined,
  gauge: () => undefined,
});

type Attachment = { type: 'StatementAttached'; data: { pdf: string } };

/** A stream whose second event is too large for the harness's stream (8 KiB a message), published: that event is parked. */
async function parkedAttachment(h: PublishingHarness): Promise<{ streamId: string; eventId: string }> {
  await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msg_size: 8 * 1024, duplicate_window: nanos(10 * 60_000) });
  const streamId = uniqueStreamId();
  const { events } = await h.store.appendToStream<AccountEvent | Attachment>({
    streamId,
    streamType: 'account',
    expectedVersion: 'no_stream',
    events: [opened(), { type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } }, deposited(7)],
  });
  expect(await publishEverything(h.db, h.publisher())).toMatchObject({ published: 2, parked: 1 });
  return { streamId, eventId: events[1]?.eventId ?? '' };
}

describe('discarding a parked message', () => {
  it('takes it off the parked list for good: no run sends it, and a requeue finds nothing', async () => {
    const h = await harness();
    const { streamId, eventId } = await parkedAttachment(h);

    const [parked] = await listParkedMessages(h.db);
    warnings.length = 0;
    discardedCounts.length = 0;

    expect(await discardParkedMessage(h.db, eventId)).toBe('discarded');

    // What was dropped is told, with why it was parked: the row that said so is gone.
    expect(warnings).toEqual([
      {
        message: 'a parked message was discarded: it will never be sent',
        fields: expect.objectContaining({ messageId: eventId, source: 'events', orderingKey: streamId, subject: parked?.subject, error: parked?.error, parkedAt: parked?.parkedAt.toISOString() }) as unknown,
      },
    ]);
    expect(discardedCounts).toEqual([1]);
    expect(await listParkedMessages(h.db)).toEqual([]);
    expect((await readPublishingStatus(h.db)).parked).toBe(0);
    // Even with the stream widened, nothing sends it again.
    await (await jetstreamManager(h.nc)).streams.update(h.streamName, { max_msg_size: 64 * 1024 });
    expect(await requeueParkedMessage(h.db, eventId)).toBe(false);
    await publishEverything(h.db, h.publisher());
    expect((await messagesOf(h, [streamId])).map((message) => message.header.get('Stream-Version'))).toEqual(['1', '3']);
    expect(await discardParkedMessage(h.db, eventId)).toBe('not_parked');
  });

  it('leaves a requeued message on its way: it is sent or parked again by the next run', async () => {
    const h = await harness();
    const { eventId } = await parkedAttachment(h);
    expect(await requeueParkedMessage(h.db, eventId)).toBe(true);

    expect(await discardParkedMessage(h.db, eventId)).toBe('requeued');

    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: eventId, requeuedAt: expect.any(Date) as unknown }]);
  });

  it('leaves a message its publisher has not passed yet: the batch that parked it could run again and, finding it no longer parked, send it', async () => {
    const h = await harness();
    const streamId = uniqueStreamId();
    const { events } = await h.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const eventId = events[0]?.eventId ?? '';
    // Parked by a batch whose checkpoint is not stored yet (no publisher has stored one here).
    await h.db.query("INSERT INTO parked_messages (message_id, source, ordering_key, subject, error) VALUES ($1, 'events', $2, 'bank.account.AccountOpened', 'refused')", [eventId, streamId]);

    expect(await discardParkedMessage(h.db, eventId)).toBe('not_passed_yet');

    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: eventId }]);
  });

  it('given an event and an integration message parked under one id (stored before ids were kept apart), discards both or neither, and one by its source', async () => {
    const h = await harness();
    const { eventId } = await parkedAttachment(h);
    // Its outbox row long gone: nothing could send it.
    await parkMessages(h.db, 'outbox', [{ messageId: eventId, orderingKey: 'notices', subject: `${h.subjectPrefix}.notices.sent`, error: 'refused' }]);
    expect(await requeueParkedMessage(h.db, eventId, 'events')).toBe(true);
    const parkedSources = async () => (await listParkedMessages(h.db)).map((message) => message.source).sort();

    expect(await discardParkedMessage(h.db, eventId)).toBe('requeued');
    expect(await parkedSources()).toEqual(['events', 'outbox']);

    expect(await discardParkedMessage(h.db, eventId, 'outbox')).toBe('discarded');
    expect(await parkedSources()).toEqual(['events']);
  });

  it('discards a parked integration message whose outbox row is gone: nothing could ever send it', async () => {
    const h = await harness();
    const messageId = '0190a4b2-0000-7000-8000-0000000000aa';
    await parkMessages(h.db, 'outbox', [{ messageId, orderingKey: 'notices', subject: `${h.subjectPrefix}.notices.sent`, error: 'refused' }]);

    expect(await discardParkedMessage(h.db, messageId)).toBe('discarded');
    expect(await listParkedMessages(h.db)).toEqual([]);
  });

  it('given one whose outbox row is gone requeued, counts it as parked (no run can send it) and discards it', async () => {
    const h = await harness();
    const messageId = '0190a4b2-0000-7000-8000-0000000000ab';
    await parkMessages(h.db, 'outbox', [{ messageId, orderingKey: 'notices', subject: `${h.subjectPrefix}.notices.sent`, error: 'refused' }]);
    expect(await requeueParkedMessage(h.db, messageId)).toBe(true);
    await publishEverything(h.db, h.publisher());

    expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 1, requeued: 0 });
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId, requeuedAt: expect.any(Date) as unknown, onItsWay: false }]);
    expect(await discardParkedMessage(h.db, messageId)).toBe('discarded');
    expect(await readPublishingStatus(h.db)).toMatchObject({ parked: 0, requeued: 0 });
  });

  it('given a message parked under an id PostgreSQL holds that is no RFC 9562 UUID (written by hand, md5(...)::uuid), lists it, pages past it, requeues it and discards it as any other', async () => {
    const h = await harness();
    const { rows } = await h.db.query<{ id: string }>("SELECT md5('order-42')::uuid::text AS id");
    const messageId = rows[0]?.id ?? '';
    await parkMessages(h.db, 'outbox', [{ messageId, orderingKey: 'orders', subject: `${h.subjectPrefix}.orders.placed`, error: 'refused' }]);

    const [listed] = await listParkedMessages(h.db);
    if (!listed) throw new Error('the message was not listed');
    expect(listed).toMatchObject({ messageId });
    expect(await listParkedMessages(h.db, { after: listed.position })).toEqual([]);
    expect(await requeueParkedMessage(h.db, messageId)).toBe(true);
    expect(await discardParkedMessage(h.db, messageId)).toBe('discarded');
    expect((await readPublishingStatus(h.db)).parked).toBe(0);
  });

  it('refuses a source that is neither events nor outbox, and answers not_parked for an id no message has', async () => {
    const h = await harness();

    await expect(discardParkedMessage(h.db, '0190a4b2-0000-7000-8000-000000000000', 'feed' as ParkedSource)).rejects.toBeInstanceOf(ParkedSourceError);
    expect(await discardParkedMessage(h.db, '0190a4b2-0000-7000-8000-000000000000')).toBe('not_parked');
    expect(await discardParkedMessage(h.db, 'not a uuid')).toBe('not_parked');
  });
});
