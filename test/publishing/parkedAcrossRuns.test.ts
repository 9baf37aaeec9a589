import { randomUUID } from 'node:crypto';
import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { createPgDb, type Db, type QueryOptions, type Queryable } from '../../core/db';
import { ProcessorDefinitionError } from '../../core/processing';
import { addMetricsSink } from '../../core/observability';
import { eventRouting, listParkedMessages, parkMessages, readPublishingStatus, requeueParkedMessage } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep, uniqueStreamId, withdrawn } from '../support/fixtures';
import { deleteJetStream, readStoredMessages } from '../support/natsTesting';
import { cleanedUpAfterEach, publishEverything, type PublishingHarness, silentSubscriber } from './publishingHarness';

const { defer, harness } = cleanedUpAfterEach();

/** A pool of its own, a gate that holds statements until released, and a signal for when the first was held. */
function gatedPool(url: string) {
  const pool = createPgDb({ connectionString: url, max: 3 });
  defer(() => pool.close());
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return { pool, reach, reached, released, release };
}

/** A pool that runs statements until one matches, runs that one, then holds every later statement until released. */
function pausedAfter(url: string, match: (text: string) => boolean): { db: Db; reached: Promise<void>; release: () => void } {
  const { pool, reach, reached, released, release } = gatedPool(url);
  let paused = false;
  const db: Db = {
    async query<Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) {
      if (paused) await released;
      const result = await pool.query<Row>(text, params, options);
      if (!paused && match(text)) {
        paused = true;
        reach();
      }
      return result;
    },
    transaction: async (work) => {
      if (paused) await released;
      return pool.transaction(work);
    },
    close: () => pool.close(),
  };
  return { db, reached, release };
}

/** Counts what the runs count to the metrics, by name. */
function countedMetrics(): Record<string, number> {
  const counted: Record<string, number> = {};
  const remove = addMetricsSink({ count: (name, value) => void (counted[name] = (counted[name] ?? 0) + value), observe: () => undefined, gauge: () => undefined });
  defer(() => {
    remove();
    return Promise.resolve();
  });
  return counted;
}

/** A stream of its own for subjects the harness's stream does not capture; its stored message ids. */
async function sideStream(h: PublishingHarness, subject: string): Promise<() => Promise<string[]>> {
  const name = `${h.streamName}_SIDE`;
  await (await jetstreamManager(h.nc)).streams.add({ name, subjects: [subject] });
  defer(() => deleteJetStream(h.nc, name));
  return async () => (await readStoredMessages(h.nc, name)).map((message) => message.header.get('Nats-Msg-Id'));
}

/** A pool whose first statement matching `match` waits, unsent, until released; every other statement runs. */
function stalledBefore(url: string, match: (text: string) => boolean): { db: Db; reached: Promise<void>; release: () => void } {
  const { pool, reach, reached, released, release } = gatedPool(url);
  let stalled = false;
  const stalling = (queryable: Queryable): Queryable => ({
    async query<Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) {
      if (!stalled && match(text)) {
        stalled = true;
        reach();
        await released;
      }
      return queryable.query<Row>(text, params, options);
    },
  });
  return { db: { ...stalling(pool), transaction: (work) => pool.transaction((tx) => work(stalling(tx))), close: () => pool.close() }, reached, release };
}

describe('a parked message across publisher instances', () => {
  it('given a run that began before another instance parked a message, when it reads that message again, then it skips it: sent once, parked once, one refusal', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    // A full stream that discards new messages holds the partition's checkpoint before the parked message.
    const fullStream = `${h.streamName}_FULL`;
    const fullSubject = `${h.subjectPrefix}full.notices`;
    await jsm.streams.add({ name: fullStream, subjects: [fullSubject], max_msgs: 1, discard: DiscardPolicy.New });
    defer(() => deleteJetStream(h.nc, fullStream));
    await jetstream(h.nc).publish(fullSubject, 'filler');
    const nowhere = `nowhere${h.subjectPrefix}.withdrawn`;
    const deliveries = await silentSubscriber(h, nowhere);
    const held = uniqueStreamId();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.streamId === held ? fullSubject : event.type === 'MoneyWithdrawn' ? nowhere : undefined) });
    await h.store.appendToStream({ streamId: held, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const { events } = await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), withdrawn(1), deposited(2)] });
    // Readable by the runs below, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(h.db);
    const counted = countedMetrics();
    const options = { routing, partitions: 1, publishTimeoutMs: 500, retryBackoff: { baseMs: 20, maxMs: 50 } };

    // Instance B's run begins (its first statement), then waits while instance A parks the withdrawal.
    const b = pausedAfter(h.database.url, () => true);
    const runB = h.publisher({ ...options, db: b.db }).run({ deadline: Date.now() + 8_000 });
    await b.reached;
    const a = await h.publisher(options).run({ deadline: Date.now() + 3_000 });
    expect(a.parked).toBe(1);
    b.release();
    const bReport = await runB;

    // B read the partition from before the held stream, the parked withdrawal again among it.
    expect(bReport.retried).toBeGreaterThan(0);
    expect(bReport.parked).toBe(0);
    expect(counted.MessagesParked).toBe(1);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: events[1]?.eventId, refusals: 1, requeuedAt: null }]);
    await h.nc.flush();
    expect(deliveries).toEqual([events[1]?.eventId]);
  });

  it('given a requeued message still refused, when two runs start at once, then one of them sends it: one more refusal, parked once', async () => {
    const h = await harness();
    const nowhere = `nowhere${h.subjectPrefix}.withdrawn`;
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? nowhere : undefined) });
    const { events } = await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), withdrawn(1)] });
    const parkedId = events[1]?.eventId ?? '';
    const options = { routing, partitions: 1 };
    await untilFeedHorizonPasses(h.db);
    await publishEverything(h.db, h.publisher(options));
    expect(await requeueParkedMessage(h.db, parkedId)).toBe(true);

    // A nudge beside the schedule: both read the requeued message before either sends it.
    const first = pausedAfter(h.database.url, (text) => text.includes('requeued_at IS NOT NULL'));
    const second = pausedAfter(h.database.url, (text) => text.includes('requeued_at IS NOT NULL'));
    const runs = [h.publisher({ ...options, db: first.db }).run({ deadline: Date.now() + 2_000 }), h.publisher({ ...options, db: second.db }).run({ deadline: Date.now() + 2_000 })];
    await Promise.all([first.reached, second.reached]);
    first.release();
    second.release();
    const reports = await Promise.all(runs);

    expect(reports.map((report) => report.parked).sort()).toEqual([0, 1]);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: parkedId, refusals: 2, requeuedAt: null }]);
  });

  it('given a requeue turn that outlives its lease (a publish timeout longer than half of it), when another instance takes the turn and is refused the message too, then the one requeue counts one refusal and one parking', async () => {
    const h = await harness();
    const silentSubject = `${h.subjectPrefix}silent.requeued`;
    const heard = await silentSubscriber(h, silentSubject);
    const { events } = await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const messageId = events[0]?.eventId ?? '';
    await untilFeedHorizonPasses(h.db);
    await publishEverything(h.db, h.publisher({ partitions: 1 }));
    // Parked as a refused subject would be, then requeued: it goes out on the silent subject, and waits out the timeout.
    await parkMessages(h.db, 'events', [{ messageId, orderingKey: 'key', subject: silentSubject, error: 'no stream' }]);
    expect(await requeueParkedMessage(h.db, messageId)).toBe(true);

    const options = { partitions: 1, leaseTtlMs: 1_000, publishTimeoutMs: 2_500 };
    const first = h.publisher(options).run({ deadline: Date.now() + 10_000 });
    // The first turn's lease runs out (1 s after it was taken, before the send) while its one round waits 2.5 s from the send.
    while (heard.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const second = h.publisher(options).run({ deadline: Date.now() + 10_000 });
    const reports = await Promise.all([first, second]);

    expect(reports[0].parked + reports[1].parked).toBe(1);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId, refusals: 2, requeuedAt: null }]);
  });

  it('counts a message parked without being sent (NATS cannot carry its subject) to MessagesParked, as the run report does', async () => {
    const h = await harness();
    const counted = countedMetrics();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? `${h.subjectPrefix}.with space` : undefined) });
    await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), withdrawn(1)] });
    await untilFeedHorizonPasses(h.db);
    const report = await h.publisher({ routing }).run({ deadline: Date.now() + 5_000 });
    expect(report.parked).toBe(1);
    expect(counted.MessagesParked).toBe(1);
  });

  it('counts a message parked at once to MessagesParked also when the run then cannot set up its stream', async () => {
    const h = await harness();
    const counted = countedMetrics();
    // A stream that acknowledges nothing: the publisher refuses to publish into it.
    await (await jetstreamManager(h.nc)).streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], no_ack: true });
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? `${h.subjectPrefix}.with space` : undefined) });
    await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [withdrawn(1), deposited(7)] });
    await untilFeedHorizonPasses(h.db);

    await expect(h.publisher({ routing, partitions: 1 }).run({ deadline: Date.now() + 5_000 })).rejects.toThrow(/no_ack|acknowledg/i);

    expect(await listParkedMessages(h.db)).toHaveLength(1);
    expect(counted.MessagesParked).toBe(1);
  });

  it('given a requeued message, when an instance deployed with another partition count runs, then it is refused before it sends anything: the message stays requeued', async () => {
    const h = await harness();
    const subject = `unrouted${h.subjectPrefix}.withdrawn`;
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? subject : undefined) });
    await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), withdrawn(1), deposited(7)] });
    await publishEverything(h.db, h.publisher({ routing }));
    const [parked] = await listParkedMessages(h.db);
    // Fixed: a stream now captures the subject, and a person requeues the message.
    const capturing = `${h.streamName}_FIX`;
    await (await jetstreamManager(h.nc)).streams.add({ name: capturing, subjects: [`unrouted${h.subjectPrefix}.>`] });
    defer(() => deleteJetStream(h.nc, capturing));
    expect(await requeueParkedMessage(h.db, parked?.messageId ?? '')).toBe(true);

    await expect(h.publisher({ routing, partitions: 2 }).run({ deadline: Date.now() + 3_000 })).rejects.toBeInstanceOf(ProcessorDefinitionError);

    expect((await (await jetstreamManager(h.nc)).streams.info(capturing)).state.messages).toBe(0);
    const stillParked = (await listParkedMessages(h.db)).map((message) => ({ messageId: message.messageId, requeued: message.requeuedAt !== null }));
    expect(stillParked).toEqual([{ messageId: parked?.messageId, requeued: true }]);
  });

  it('answers false to a requeue of an id that is not parked, a UUID or not', async () => {
    const h = await harness();
    expect(await requeueParkedMessage(h.db, '01890a5d-ac96-774b-bcce-b302099a8057')).toBe(false);
    expect(await requeueParkedMessage(h.db, 'not-a-uuid')).toBe(false);
  });
});

describe('a parked message, a stalled holder and the message’s source', () => {
  it('given a publisher that stalled on its way to parking an event while another took its partition over and published it, when it goes on, then it parks nothing, counts what it stored, and says it lost the partition', async () => {
    const h = await harness();
    const late = `${h.subjectPrefix}late.opened`;
    const refusedStream = uniqueStreamId();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.streamId === refusedStream ? late : undefined) });
    const { events: storedEvents } = await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const { events } = await h.store.appendToStream({ streamId: refusedStream, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const eventId = events[0]?.eventId ?? '';
    await untilFeedHorizonPasses(h.db);
    const options = { routing, partitions: 1, leaseTtlMs: 1_000, publishTimeoutMs: 1_000 };

    // A stores the first event; no stream captures the second's subject, so it is refused for
    // good, and A stalls before it writes anything of the parking.
    const a = stalledBefore(h.database.url, (text) => text.includes('parked_messages (') || text.startsWith('SELECT FROM partition_leases'));
    const runA = h.publisher({ ...options, db: a.db }).run({ deadline: Date.now() + 20_000 });
    await a.reached;
    // Someone adds the stream the subject was meant for; A's lease runs out, and B takes the partition over.
    const storedOnSide = await sideStream(h, late);
    await sleep(1_300);
    const b = await publishEverything(h.db, h.publisher(options));
    expect(await storedOnSide()).toEqual([eventId]);

    a.release();
    const aReport = await runA;

    expect(aReport).toMatchObject({ published: 1, duplicates: 0, parked: 0, leaseLost: 1 });
    expect(b).toMatchObject({ published: 2, duplicates: 1, parked: 0, leaseLost: 0 });
    expect(await listParkedMessages(h.db)).toEqual([]);
    expect((await readPublishingStatus(h.db)).parked).toBe(0);
    expect(await storedOnSide()).toEqual([eventId]);
    expect((await readStoredMessages(h.nc, h.streamName)).map((message) => message.header.get('Nats-Msg-Id'))).toEqual([storedEvents[0]?.eventId]);
  });

  it('given a requeue turn that stalled on its way to parking a message again while another instance sent it, when it goes on, then it parks nothing and says it lost the turn', async () => {
    const h = await harness();
    const late = `${h.subjectPrefix}late.opened`;
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: () => late });
    const { events } = await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const eventId = events[0]?.eventId ?? '';
    const options = { routing, partitions: 1, leaseTtlMs: 1_000, publishTimeoutMs: 1_000 };
    await publishEverything(h.db, h.publisher(options));
    expect((await listParkedMessages(h.db)).map((message) => message.messageId)).toEqual([eventId]);
    expect(await requeueParkedMessage(h.db, eventId)).toBe(true);

    // A's turn sends it, is refused for good again, and stalls before parking it again.
    const a = stalledBefore(h.database.url, (text) => text.includes('parked_messages (') || text.startsWith('SELECT FROM partition_leases'));
    const runA = h.publisher({ ...options, db: a.db }).run({ deadline: Date.now() + 20_000 });
    await a.reached;
    const storedOnSide = await sideStream(h, late);
    await sleep(1_300);
    expect(await publishEverything(h.db, h.publisher(options))).toMatchObject({ requeued: 1 });
    expect(await listParkedMessages(h.db)).toEqual([]);

    a.release();
    expect(await runA).toMatchObject({ parked: 0, leaseLost: 1 });

    expect(await listParkedMessages(h.db)).toEqual([]);
    expect(await storedOnSide()).toEqual([eventId]);
  });

  it('given a parked event and a parked integration message, when a message stored before migration 0028 reuses the event’s id and an event the message’s, then each is published as its own, and each parked one is requeued by its source', async () => {
    const h = await harness();
    const nowhere = `${h.subjectPrefix}nowhere.parked`;
    const parkedEventStream = uniqueStreamId();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.streamId === parkedEventStream ? nowhere : undefined) });
    const publisher = h.publisher({ routing, partitions: 1, publishTimeoutMs: 1_000 });
    const parkedMessageId = randomUUID();
    const { events } = await h.store.appendToStream({
      streamId: parkedEventStream,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      messages: [{ subject: nowhere, body: { n: 1 }, orderingKey: 'parked-key', messageId: parkedMessageId }],
    });
    const parkedEventId = events[0]?.eventId ?? '';
    await publishEverything(h.db, publisher);
    const parked = () => listParkedMessages(h.db).then((list) => list.map(({ messageId, source }) => ({ messageId, source })).sort((x, y) => x.source.localeCompare(y.source)));
    expect(await parked()).toEqual([
      { messageId: parkedEventId, source: 'events' },
      { messageId: parkedMessageId, source: 'outbox' },
    ]);

    // Each id again, from the other source, on the harness's own stream: the append refuses that
    // now (migration 0028), so the rows are written as an append before it could store them.
    const reusing = uniqueStreamId();
    await h.db.transaction(async (tx) => {
      await tx.query("INSERT INTO events (stream_id, stream_type, version, event_id, type, data) VALUES ($1, 'account', 1, $2, 'AccountOpened', $3)", [
        reusing,
        parkedMessageId,
        JSON.stringify(opened().data),
      ]);
      await tx.query("INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES ($1, $2, $3, '{\"n\":2}', '{}')", [
        parkedEventId,
        reusing,
        `${h.subjectPrefix}.notices.reused`,
      ]);
    });
    await publishEverything(h.db, publisher);

    const stored = (await readStoredMessages(h.nc, h.streamName)).map((message) => message.header.get('Nats-Msg-Id'));
    expect(stored).toEqual(expect.arrayContaining([parkedMessageId, parkedEventId]));
    expect(await parked()).toHaveLength(2);

    // Requeued by source, once a stream captures their subject: each goes out, and leaves the list alone.
    const storedOnSide = await sideStream(h, nowhere);
    expect(await requeueParkedMessage(h.db, parkedEventId, 'outbox')).toBe(false);
    expect(await requeueParkedMessage(h.db, parkedEventId, 'events')).toBe(true);
    await publishEverything(h.db, publisher);
    expect(await parked()).toEqual([{ messageId: parkedMessageId, source: 'outbox' }]);
    expect(await requeueParkedMessage(h.db, parkedMessageId)).toBe(true);
    await publishEverything(h.db, publisher);
    expect(await parked()).toEqual([]);
    expect((await storedOnSide()).sort()).toEqual([parkedEventId, parkedMessageId].sort());
  });

});
