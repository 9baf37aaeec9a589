import { jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Db, Queryable, QueryResult } from '../../core/db';
import { eventRouting, listParkedMessages, ParkedSourceError, requeueParkedMessage, type ParkedSource } from '../../core/publishing';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { readStoredMessages } from '../support/natsTesting';
import { publishEverything, startPublishingHarness, type PublishingHarness } from './publishingHarness';

const opened_: PublishingHarness[] = [];
afterEach(async () => {
  for (const h of opened_.splice(0)) await h.close();
});

async function harness(): Promise<PublishingHarness> {
  const started = await startPublishingHarness();
  opened_.push(started);
  return started;
}

/** One event (routed to `<prefix>ev.x`) and one integration message (on `<prefix>msg.x`), both parked: no stream captures their subjects. */
async function parkOneOfEach(h: PublishingHarness) {
  const streamId = uniqueStreamId();
  const appended = await h.store.appendToStream({
    streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()],
    messages: [{ subject: `${h.subjectPrefix}msg.x`, body: { n: 1 }, orderingKey: 'order-key-1' }],
  });
  const eventId = appended.events[0]?.eventId ?? '';
  const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: () => `${h.subjectPrefix}ev.x` });
  const publisher = h.publisher({ routing, publishTimeoutMs: 1_500, leaseTtlMs: 3_000, retryBackoff: { baseMs: 10, maxMs: 50 } });
  expect(await publishEverything(h.db, publisher)).toMatchObject({ parked: 2 });
  const parked = await listParkedMessages(h.db);
  const messageId = parked.find((p) => p.source === 'outbox')?.messageId ?? '';
  expect(parked.map((p) => p.source).sort()).toEqual(['events', 'outbox']);
  return { publisher, eventId, messageId };
}

describe('requeued messages of both sources', () => {
  it('go out source by source, the source of the message requeued first first: an integration message requeued before an event goes before it', async () => {
    const h = await harness();
    const { publisher, eventId, messageId } = await parkOneOfEach(h);
    const jsm = await jetstreamManager(h.nc);
    const side = `${h.streamName}_SIDE`;
    await jsm.streams.add({ name: side, subjects: [`${h.subjectPrefix}msg.>`, `${h.subjectPrefix}ev.>`], duplicate_window: nanos(10 * 60_000) });
    try {
      expect(await requeueParkedMessage(h.db, messageId)).toBe(true);
      await sleep(20);
      expect(await requeueParkedMessage(h.db, eventId)).toBe(true);
      expect(await publisher.run({ deadline: Date.now() + 5_000 })).toMatchObject({ requeued: 2 });
      const order = (await readStoredMessages(h.nc, side)).map((m) => m.header.get('Nats-Msg-Id'));
      expect(order).toEqual([messageId, eventId]);
    } finally {
      await jsm.streams.delete(side);
    }
  });

  it('given an event requeued after an integration message, and NATS not answering for the event, the message still goes out in the first run', async () => {
    const h = await harness();
    const { publisher, eventId, messageId } = await parkOneOfEach(h);
    const jsm = await jetstreamManager(h.nc);
    const msgStream = `${h.streamName}_MSG`;
    const evStream = `${h.streamName}_EV`;
    await jsm.streams.add({ name: msgStream, subjects: [`${h.subjectPrefix}msg.>`], duplicate_window: nanos(10 * 60_000) });
    // The event's stream does not acknowledge (JetStream slow, or no_ack): each events round waits out the publish timeout.
    await jsm.streams.add({ name: evStream, subjects: [`${h.subjectPrefix}ev.>`], no_ack: true, duplicate_window: nanos(10 * 60_000) });
    try {
      expect(await requeueParkedMessage(h.db, messageId)).toBe(true);
      await sleep(20);
      expect(await requeueParkedMessage(h.db, eventId)).toBe(true);
      const first = await publisher.run({ deadline: Date.now() + 3_000 });
      const stored = (await readStoredMessages(h.nc, msgStream)).map((m) => m.header.get('Nats-Msg-Id'));
      expect({ requeued: first.requeued, stored }).toEqual({ requeued: 1, stored: [messageId] });
    } finally {
      await jsm.streams.delete(msgStream);
      await jsm.streams.delete(evStream);
    }
  });
});

/** An integration message on a subject no stream captures, parked, then requeued while still refused. */
async function requeuedOnceAndStillRefused(h: PublishingHarness) {
  const streamId = uniqueStreamId();
  const lostSubject = `${h.subjectPrefix}lost.x`;
  await h.store.appendToStream({
    streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()],
    messages: [{ subject: lostSubject, body: { n: 1 }, orderingKey: streamId }],
  });
  await publishEverything(h.db, h.publisher());
  const [parked] = await listParkedMessages(h.db);
  if (!parked) throw new Error('the message was not parked');
  expect(await requeueParkedMessage(h.db, parked.messageId)).toBe(true);
  return { parked, lostSubject };
}

/** The operator's fix: the harness's stream captures the subject too. */
async function captureSubject(h: PublishingHarness, subject: string): Promise<void> {
  const jsm = await jetstreamManager(h.nc);
  const { config } = await jsm.streams.info(h.streamName);
  await jsm.streams.update(h.streamName, { ...config, subjects: [...config.subjects, subject] });
}

async function expectSentOnceByTheNextRun(h: PublishingHarness, subject: string): Promise<void> {
  await h.publisher().run();
  const stored = (await readStoredMessages(h.nc, h.streamName)).filter((message) => message.subject === subject);
  expect(stored).toHaveLength(1);
  expect(await listParkedMessages(h.db)).toEqual([]);
}

/**
 * A publisher run in which, between the refusal of the requeued message and its parking
 * (in a transaction fenced by the requeue turn's lease), the operator fixes the stream and
 * `requeue`s the message again.
 */
async function runRequeuedBeforeParking(h: PublishingHarness, subject: string, requeue: () => Promise<void>): Promise<void> {
  let fixed = false;
  const fixingBeforeParking = (queryable: Queryable): Queryable => ({
    async query(text, params, options) {
      if (!fixed && text.includes('INSERT INTO parked_messages')) {
        fixed = true;
        await captureSubject(h, subject);
        await requeue();
      }
      return queryable.query(text, params, options);
    },
  });
  const racing: Db = { ...fixingBeforeParking(h.db), transaction: (work) => h.db.transaction((tx) => work(fixingBeforeParking(tx))), close: () => Promise.resolve() };
  await h.publisher({ db: racing }).run();
  expect(fixed).toBe(true);
}

describe('a requeue made while a run sends the message again', () => {
  it('given a requeue before the fix, refused again, and another after the fix while that refusal is on its way, the next run sends the message', async () => {
    const h = await harness();
    const { parked, lostSubject } = await requeuedOnceAndStillRefused(h);

    // Between the refusal and its parking, the operator fixes the stream and requeues the message again.
    await runRequeuedBeforeParking(h, lostSubject, async () => {
      expect(await requeueParkedMessage(h.db, parked.messageId)).toBe(true);
    });
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: parked.messageId, refusals: 2, requeuedAt: expect.any(Date) as unknown }]);

    await expectSentOnceByTheNextRun(h, lostSubject);
  });

  it('given a requeue begun before the run read the requeued messages and committed after it, refused meanwhile, the requeue stands and the next run sends the message', async () => {
    const h = await harness();
    const { parked, lostSubject } = await requeuedOnceAndStillRefused(h);

    // An operator requeues it again in a transaction of their own: begun before the turn reads
    // the requeued messages (the read cannot see it), committed once the stream is fixed, before
    // the turn parks the refused try again.
    const operator = new pg.Client({ connectionString: h.database.url });
    await operator.connect();
    const inOperatorsTransaction: Queryable = {
      async query<Row extends object>(text: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
        const result = await operator.query<Row>(text, [...params]);
        return { rows: result.rows, rowCount: result.rowCount ?? 0 };
      },
    };
    let began = false;
    let committed = false;
    const requeuedDuringTheRun = (queryable: Queryable): Queryable => ({
      async query(text, params, options) {
        // The turn's page of requeued messages (its first look reads one row only).
        if (!began && text.includes('requeue_turn_at)) OVER') && Number(params?.[0]) > 1) {
          began = true;
          await operator.query('BEGIN');
          expect(await requeueParkedMessage(inOperatorsTransaction, parked.messageId)).toBe(true);
        }
        if (began && !committed && text.includes('INSERT INTO parked_messages')) {
          committed = true;
          await captureSubject(h, lostSubject);
          await operator.query('COMMIT');
        }
        return queryable.query(text, params, options);
      },
    });
    const racing: Db = { ...requeuedDuringTheRun(h.db), transaction: (work) => h.db.transaction((tx) => work(requeuedDuringTheRun(tx))), close: () => Promise.resolve() };
    try {
      await h.publisher({ db: racing }).run();
    } finally {
      await operator.end();
    }
    expect(committed).toBe(true);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: parked.messageId, refusals: 2, requeuedAt: expect.any(Date) as unknown }]);

    await expectSentOnceByTheNextRun(h, lostSubject);
  });
});

describe('a requeue made the way the previous release, or a person in SQL, makes it', () => {
  it('given the refused try on its way, when requeued by an UPDATE of requeued_at alone (a rolling deploy), then the requeue stands and the next run sends the message', async () => {
    const h = await harness();
    const { parked, lostSubject } = await requeuedOnceAndStillRefused(h);
    await runRequeuedBeforeParking(h, lostSubject, async () => {
      // The previous release's requeueParkedMessage, word for word: it knows nothing of requeued_by.
      const requeued = await h.db.query('UPDATE parked_messages SET requeued_at = now() WHERE message_id = $1 AND ($2::text IS NULL OR source = $2)', [parked.messageId, null]);
      expect(requeued.rowCount).toBe(1);
    });
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: parked.messageId, refusals: 2, requeuedAt: expect.any(Date) as unknown }]);

    await expectSentOnceByTheNextRun(h, lostSubject);
  });
});

describe('a requeue given a source that is neither', () => {
  it('is refused with a ParkedSourceError, not answered as a message that is not parked, and requeues nothing', async () => {
    const h = await harness();
    await parkOneOfEach(h);
    const [parked] = await listParkedMessages(h.db);
    if (!parked) throw new Error('nothing was parked');
    await expect(requeueParkedMessage(h.db, parked.messageId, 'Outbox' as ParkedSource)).rejects.toBeInstanceOf(ParkedSourceError);
    expect((await listParkedMessages(h.db)).map((message) => message.requeuedAt)).toEqual([null, null]);
  });
});
