import { DiscardPolicy, JetStreamApiError, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, NoRespondersError } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { eventRouting, listParkedMessages, readPublishingStatus, refusedForGood, requeueParkedMessage } from '../../core/publishing';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { connectNats, readStoredMessages } from '../support/natsTesting';
import { startPrivateNatsServer, type PrivateNatsServer } from '../support/privateNatsServer';
import { messagesOf, nothingWaits, publishEverything, runUntil, startPublishingHarness, withFullStream, type PublishingHarness, type RunTotals } from './publishingHarness';

type Attachment = { type: 'StatementAttached'; data: { pdf: string } };

const opened_: Array<PublishingHarness | PrivateNatsServer> = [];
afterEach(async () => {
  for (const resource of opened_.splice(0).reverse()) await resource.close();
});

async function harness(options: { maxEventBytes?: number } = {}): Promise<PublishingHarness> {
  const started = await startPublishingHarness(options);
  opened_.push(started);
  return started;
}

/** A stream of three events whose second is `middle`. */
async function appendAround(h: PublishingHarness, middle: AccountEvent | Attachment) {
  const streamId = uniqueStreamId();
  const appended = await h.store.appendToStream<AccountEvent | Attachment>({
    streamId,
    streamType: 'account',
    expectedVersion: 'no_stream',
    events: [opened(), middle, deposited(7)],
  });
  return { streamId, middleId: appended.events[1]?.eventId ?? '' };
}

const versionsOf = async (h: PublishingHarness, streamId: string) =>
  (await messagesOf(h, [streamId])).map((message) => Number(message.header.get('Stream-Version')));

describe('what NATS refuses for good is parked, and the rest of its stream goes on', () => {
  it('an event over the stream’s max_msg_size, with the server’s error; requeued after the fix, it is published after its successors', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msg_size: 8 * 1024, duplicate_window: nanos(10 * 60_000) });
    const { streamId, middleId } = await appendAround(h, { type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } });

    const publisher = h.publisher();
    expect(await publishEverything(h.db, publisher)).toMatchObject({ published: 2, parked: 1 });
    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    const parked = await listParkedMessages(h.db);
    expect(parked).toMatchObject([{ messageId: middleId, source: 'events', orderingKey: streamId, refusals: 1, requeuedAt: null }]);
    expect(parked[0]?.error).toMatch(/message size exceeds maximum/i);
    expect((await readPublishingStatus(h.db)).parked).toBe(1);

    // The stream is widened; a person requeues the message.
    await jsm.streams.update(h.streamName, { max_msg_size: 64 * 1024 });
    expect(await requeueParkedMessage(h.db, middleId)).toBe(true);
    expect((await publisher.run()).requeued).toBe(1);
    expect(await versionsOf(h, streamId)).toEqual([1, 3, 2]);
    expect(await listParkedMessages(h.db)).toEqual([]);
  });

  it('a key’s requeued messages go out in the order they were first sent, also when more are requeued than one page of a run holds', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msg_size: 8 * 1024, duplicate_window: nanos(10 * 60_000) });
    const big: Attachment = { type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } };
    const append = (streamId: string, events: Attachment[]) =>
      h.store.appendToStream<Attachment>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events });
    const key = uniqueStreamId();
    const [first, second] = (await append(key, [big, big])).events.map((event) => event.eventId);
    const others = await Promise.all(Array.from({ length: 99 }, async () => (await append(uniqueStreamId(), [big])).events[0]?.eventId));
    const publisher = h.publisher();
    expect(await publishEverything(h.db, publisher)).toMatchObject({ published: 0, parked: 101 });

    // Widened, then requeued one by one: the key's second message first, its first after all the others.
    await jsm.streams.update(h.streamName, { max_msg_size: 64 * 1024 });
    for (const messageId of [second, ...others, first]) expect(await requeueParkedMessage(h.db, messageId ?? '')).toBe(true);
    // A run reads a hundred requeued messages a page, and sends page after page.
    expect((await publisher.run()).requeued).toBe(101);

    expect(await versionsOf(h, key)).toEqual([1, 2]);
    expect(await listParkedMessages(h.db)).toEqual([]);
  });

  it('requeued events of two streams: the one stored leaves the parked list even when the other, sent before it, is held back', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    const sideStream = `${h.streamName}_SIDE`;
    const sideSubject = `${h.subjectPrefix}side.statements`;
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msg_size: 8 * 1024, duplicate_window: nanos(10 * 60_000) });
    await jsm.streams.add({ name: sideStream, subjects: [sideSubject], max_msg_size: 8 * 1024 });
    try {
      const statement: Attachment = { type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } };
      const held = await appendAround(h, statement);
      const stored = await appendAround(h, statement);
      const routing = eventRouting({
        prefix: h.subjectPrefix,
        subjectFor: (event) => (event.type === 'StatementAttached' && event.streamId === held.streamId ? sideSubject : undefined),
      });
      const publisher = h.publisher({ routing, retryBackoff: { baseMs: 10, maxMs: 50 } });
      expect(await publishEverything(h.db, publisher)).toMatchObject({ parked: 2 });

      // Both streams are widened, but the side stream is full now (discard new): its statement is held back for a while.
      await jsm.streams.update(h.streamName, { max_msg_size: 64 * 1024 });
      await jsm.streams.update(sideStream, { max_msg_size: 64 * 1024, max_msgs: 1, discard: DiscardPolicy.New });
      await jetstream(h.nc).publish(sideSubject, 'filler');
      expect(await requeueParkedMessage(h.db, held.middleId)).toBe(true);
      expect(await requeueParkedMessage(h.db, stored.middleId)).toBe(true);

      expect(await publisher.run({ deadline: Date.now() + 2_000 })).toMatchObject({ requeued: 1 });
      expect(await versionsOf(h, stored.streamId)).toEqual([1, 3, 2]);
      const parked = await listParkedMessages(h.db);
      expect(parked).toMatchObject([{ messageId: held.middleId }]);
      expect(parked[0]?.requeuedAt).toBeInstanceOf(Date);
    } finally {
      await jsm.streams.delete(sideStream);
    }
  });

  it('an event larger than the whole of the stream’s max_bytes (discard new), which no emptying of the stream lets in', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_bytes: 4_096, discard: DiscardPolicy.New, duplicate_window: nanos(10 * 60_000) });
    const { streamId, middleId } = await appendAround(h, { type: 'StatementAttached', data: { pdf: 'x'.repeat(8_000) } });

    expect(await publishEverything(h.db, h.publisher())).toMatchObject({ published: 2, parked: 1 });
    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: middleId, error: expect.stringMatching(/maximum bytes exceeded/) as unknown }]);
  });

  it('an event larger than all the JetStream storage its account may use, which no emptying of its streams lets in', async () => {
    const nats = await startPrivateNatsServer({ settings: 'accounts { A { jetstream { max_file: 10000, max_mem: 10000 }, users: [{ user: a, password: a }] } }' });
    opened_.push(nats);
    const h = await harness();
    const { streamId, middleId } = await appendAround(h, { type: 'StatementAttached', data: { pdf: 'x'.repeat(20_000) } });
    const publisher = h.publisher({ connect: () => connectNats({ servers: nats.url, user: 'a', pass: 'a' }), retryBackoff: { baseMs: 10, maxMs: 50 } });

    // Each run ends 2 s after it starts at the latest: a message retried for ever would hold every run to it.
    const totals = await runUntil(publisher, async (sum) => sum.caughtUp && (await nothingWaits(h.db)), 2_000);

    expect(totals).toMatchObject({ published: 2, parked: 1 });
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: middleId, error: expect.stringMatching(/resource limits exceeded for account/) as unknown }]);
    const nc = await connectNats({ servers: nats.url, user: 'a', pass: 'a' });
    try {
      const stored = (await readStoredMessages(nc, h.streamName)).filter((message) => message.header.get('Stream-Id') === streamId);
      expect(stored.map((message) => Number(message.header.get('Stream-Version')))).toEqual([1, 3]);
    } finally {
      await nc.close();
    }
  });

  it('an event over NATS’s max_payload, refused before it is sent', async () => {
    const h = await harness({ maxEventBytes: 4 * 1024 * 1024 });
    const { streamId, middleId } = await appendAround(h, { type: 'StatementAttached', data: { pdf: 'x'.repeat(1_200_000) } });
    await publishEverything(h.db, h.publisher());
    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    const [parked] = await listParkedMessages(h.db);
    expect(parked).toMatchObject({ messageId: middleId });
    expect(parked?.error).toMatch(/max_payload/);
  });

  it('an event routed to a subject no stream captures', async () => {
    const h = await harness();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? `nowhere${h.subjectPrefix}.withdrawn` : undefined) });
    const { streamId, middleId } = await appendAround(h, { type: 'MoneyWithdrawn', data: { amount: 1 } });
    await publishEverything(h.db, h.publisher({ routing }));
    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: middleId, subject: `nowhere${h.subjectPrefix}.withdrawn` }]);
  });

  it.each([
    ['never answers', false],
    ['answers with something that is not an acknowledgement', true],
  ])('an event routed to a subject no stream captures, where a plain NATS subscriber %s, sent to it once', async (_, answers) => {
    const h = await harness();
    const subject = `plain${h.subjectPrefix}.withdrawn`;
    let deliveries = 0;
    const subscriber = h.nc.subscribe(subject, {
      callback: (_error, message) => {
        deliveries++;
        if (answers) message.respond('thanks');
      },
    });
    try {
      const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? subject : undefined) });
      const { streamId, middleId } = await appendAround(h, { type: 'MoneyWithdrawn', data: { amount: 1 } });

      expect(await publishEverything(h.db, h.publisher({ routing, publishTimeoutMs: 300 }))).toMatchObject({ parked: 1 });
      await h.nc.flush();
      expect(await versionsOf(h, streamId)).toEqual([1, 3]);
      expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: middleId, subject }]);
      expect(deliveries).toBe(1);
    } finally {
      subscriber.unsubscribe();
    }
  });

  it('an event routed to a subject another stream captures with no_ack, which stores it and never answers: parked once, saying so, not sent again each run', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    const audit = `${h.streamName}_AUDIT`;
    const subject = `audit${h.subjectPrefix}.withdrawn`;
    await jsm.streams.add({ name: audit, subjects: [subject], no_ack: true });
    try {
      const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? subject : undefined) });
      const { streamId, middleId } = await appendAround(h, { type: 'MoneyWithdrawn', data: { amount: 1 } });

      const totals = await publishEverything(h.db, h.publisher({ routing, publishTimeoutMs: 300 }));
      expect(totals).toMatchObject({ parked: 1, retried: 0 });
      expect(totals.lastError).toContain('UnacknowledgingStreamError');
      expect(await versionsOf(h, streamId)).toEqual([1, 3]);
      const [parked] = await listParkedMessages(h.db);
      expect(parked).toMatchObject({ messageId: middleId, subject });
      expect(parked?.error).toContain(`the stream ${audit} captures ${subject} with no_ack`);
      expect((await jsm.streams.info(audit)).state.messages).toBe(1);
    } finally {
      await jsm.streams.delete(audit);
    }
  });

  it('an event routed to a subject NATS keeps for itself, never sent: on $JS.API.STREAM.PURGE it would have purged the stream', async () => {
    const h = await harness();
    const purge = `$JS.API.STREAM.PURGE.${h.streamName}`;
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? purge : undefined) });
    const { streamId, middleId } = await appendAround(h, { type: 'MoneyWithdrawn', data: { amount: 1 } });
    await publishEverything(h.db, h.publisher({ routing }));
    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    const [parked] = await listParkedMessages(h.db);
    expect(parked).toMatchObject({ messageId: middleId, subject: purge });
    expect(parked?.error).toMatch(/unusable subject: .*reserved for NATS/);
  });

  // A NUL and a lone surrogate cannot be stored as they are: the parked subject holds U+FFFD in their place, which NATS would carry.
  it.each(['with space', 'account.*', 'with\u0000nul', 'lone\ud800surrogate'])('an event routed to a subject NATS cannot carry (%j), never sent, not even when requeued', async (tail) => {
    const h = await harness();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? `${h.subjectPrefix}.${tail}` : undefined) });
    const { streamId, middleId } = await appendAround(h, { type: 'MoneyWithdrawn', data: { amount: 1 } });
    const publisher = h.publisher({ routing });
    await publishEverything(h.db, publisher);
    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    const [parked] = await listParkedMessages(h.db);
    expect(parked).toMatchObject({ messageId: middleId });
    expect(parked?.error).toMatch(/unusable subject/);

    expect(await requeueParkedMessage(h.db, middleId)).toBe(true);
    expect(await publisher.run()).toMatchObject({ requeued: 0, parked: 1 });
    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    expect(await listParkedMessages(h.db)).toMatchObject([{ messageId: middleId, refusals: 2, requeuedAt: null }]);
  });

  it('an event routed to a subject NATS cannot carry, requeued with an integration message parked under its id, is parked again unsent: each source\'s own error decides', async () => {
    const h = await harness();
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? `${h.subjectPrefix}.with\u0000nul` : undefined) });
    const { streamId, middleId } = await appendAround(h, { type: 'MoneyWithdrawn', data: { amount: 1 } });
    // Stored before ids were kept apart, on a subject no stream captures: parked for that, which says nothing of its subject.
    await h.db.query("INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES ($1, 'notices', $2, '{}', '{}')", [middleId, `${h.subjectPrefix}-elsewhere.notices`]);
    const publisher = h.publisher({ routing });
    await publishEverything(h.db, publisher);
    expect((await listParkedMessages(h.db)).map((message) => message.source).sort()).toEqual(['events', 'outbox']);

    expect(await requeueParkedMessage(h.db, middleId)).toBe(true);
    await publisher.run();

    expect(await versionsOf(h, streamId)).toEqual([1, 3]);
    const parkedEvents = (await listParkedMessages(h.db)).filter((message) => message.source === 'events');
    expect(parkedEvents).toMatchObject([{ messageId: middleId, refusals: 2, requeuedAt: null }]);
  });
});

describe('what NATS refuses for a while is retried, never parked, and goes out in order once it clears', () => {
  it('a stream at its message limit (discard new) until the limit is raised', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_msgs: 2, discard: DiscardPolicy.New, duplicate_window: nanos(10 * 60_000) });
    const { streamId } = await appendAround(h, deposited(1));
    const publisher = h.publisher({ retryBackoff: { baseMs: 10, maxMs: 50 } });

    const blocked = await runUntil(publisher, (totals) => totals.published >= 2 && /maximum messages exceeded/.test(totals.lastError ?? ''), 500);
    expect(blocked).toMatchObject({ published: 2, parked: 0, caughtUp: false });
    expect(await listParkedMessages(h.db)).toEqual([]);

    await jsm.streams.update(h.streamName, { max_msgs: 100 });
    await publishEverything(h.db, publisher);
    expect(await versionsOf(h, streamId)).toEqual([1, 2, 3]);
    expect(await listParkedMessages(h.db)).toEqual([]);
  });

  it('a stream at its byte limit (discard new) until the limit is raised', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_bytes: 2_000, discard: DiscardPolicy.New, duplicate_window: nanos(10 * 60_000) });
    const streamId = uniqueStreamId();
    await h.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2), deposited(3), deposited(4)] });
    const publisher = h.publisher({ retryBackoff: { baseMs: 10, maxMs: 50 } });

    const blocked = await runUntil(publisher, (totals) => totals.published >= 1 && /maximum bytes exceeded/.test(totals.lastError ?? ''), 500);
    expect(blocked).toMatchObject({ parked: 0, caughtUp: false });
    expect(await listParkedMessages(h.db)).toEqual([]);

    await jsm.streams.update(h.streamName, { max_bytes: 1024 * 1024 });
    await publishEverything(h.db, publisher);
    expect(await versionsOf(h, streamId)).toEqual([1, 2, 3, 4, 5]);
    expect(await listParkedMessages(h.db)).toEqual([]);
  });

  it('an account whose JetStream storage is used up by its other streams, until one of them is emptied', async () => {
    const nats = await startPrivateNatsServer({ settings: 'accounts { A { jetstream { max_file: 20000, max_mem: 20000 }, users: [{ user: a, password: a }] } }' });
    opened_.push(nats);
    const h = await harness();
    const nc = await connectNats({ servers: nats.url, user: 'a', pass: 'a' });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: `${h.streamName}_FILLER`, subjects: ['filler'] });
      for (let filler = 0; filler < 4; filler++) await jetstream(nc).publish('filler', 'f'.repeat(4_000));
      const { streamId } = await appendAround(h, { type: 'StatementAttached', data: { pdf: 'x'.repeat(4_000) } });
      const publisher = h.publisher({ connect: () => connectNats({ servers: nats.url, user: 'a', pass: 'a' }), retryBackoff: { baseMs: 10, maxMs: 50 } });

      const blocked = await runUntil(publisher, (totals) => /resource limits exceeded for account/.test(totals.lastError ?? ''), 500);
      expect(blocked).toMatchObject({ parked: 0, caughtUp: false });
      expect(await listParkedMessages(h.db)).toEqual([]);

      await jsm.streams.purge(`${h.streamName}_FILLER`);
      await runUntil(publisher, async (totals) => totals.caughtUp && (await nothingWaits(h.db)), 2_000);
      const stored = (await readStoredMessages(nc, h.streamName)).filter((message) => message.header.get('Stream-Id') === streamId);
      expect(stored.map((message) => Number(message.header.get('Stream-Version')))).toEqual([1, 2, 3]);
      expect(await listParkedMessages(h.db)).toEqual([]);
    } finally {
      await nc.close();
    }
  });

  it('NATS unreachable: each try counts a retry for each key it would have sent, not for every message of the batch', async () => {
    const h = await harness();
    for (let stream = 0; stream < 2; stream++) {
      await h.store.appendToStream<AccountEvent>({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2), deposited(3), deposited(4)] });
    }
    // Both keys in every try's page, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(h.db);
    let tries = 0;
    const publisher = h.publisher({
      connect: () => Promise.reject(new Error('connection refused')),
      partitions: 1,
      retryBackoff: { baseMs: 100, maxMs: 100 },
      onRetry: () => {
        tries += 1;
      },
    });

    const report = await runUntil(publisher, (totals) => totals.retried > 0, 1_000);
    // A try sends each key's first message and waits for it: two publishes failed per try.
    expect(report.retried % 2).toBe(0);
    expect(report.retried).toBeLessThanOrEqual(2 * tries);
    expect(report).toMatchObject({ published: 0, parked: 0 });
  });

  it('routing code that throws on an event, until the code is fixed: its partition waits, and the event is never parked', async () => {
    const h = await harness();
    const { streamId } = await appendAround(h, { type: 'MoneyWithdrawn', data: { amount: 1 } });
    const broken = eventRouting({
      prefix: h.subjectPrefix,
      subjectFor: (event) => {
        if (event.type === 'MoneyWithdrawn') throw new Error('no subject for withdrawals yet');
        return undefined;
      },
    });
    const publisher = h.publisher({ routing: broken, partitions: 1, retryBackoff: { baseMs: 10, maxMs: 50 } });

    const blocked = await runUntil(publisher, (totals) => totals.published >= 1 && /no subject for withdrawals yet/.test(totals.lastError ?? ''), 500);
    expect(blocked).toMatchObject({ published: 1, parked: 0, caughtUp: false });
    expect(blocked.retried).toBeGreaterThan(0);
    expect(await listParkedMessages(h.db)).toEqual([]);

    await publishEverything(h.db, h.publisher({ partitions: 1 }));
    expect(await versionsOf(h, streamId)).toEqual([1, 2, 3]);
  });

  it('routing code that throws on an event behind one its stream holds back: the run’s report and the partition’s status say both', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject) => {
      const held = uniqueStreamId();
      await h.store.appendToStream<AccountEvent>({ streamId: held, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      await h.store.appendToStream<AccountEvent>({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [{ type: 'MoneyWithdrawn', data: { amount: 1 } }] });
      const routing = eventRouting({
        prefix: h.subjectPrefix,
        subjectFor: (event) => {
          if (event.type === 'MoneyWithdrawn') throw new Error('no subject for withdrawals yet');
          return event.streamId === held ? fullSubject : undefined;
        },
      });
      const publisher = h.publisher({ routing, partitions: 1, retryBackoff: { baseMs: 10, maxMs: 50 } });

      const report = await runUntil(publisher, (totals) => totals.retried >= 4, 500);

      expect(report.lastError).toMatch(/maximum messages exceeded.*; and routing threw on event .*: no subject for withdrawals yet/i);
      const [partition] = (await readPublishingStatus(h.db)).events.partitions;
      expect(partition?.lastError).toMatch(/maximum messages exceeded.*no subject for withdrawals yet/i);
      expect(report).toMatchObject({ published: 0, parked: 0 });
    });
  });

  it('an integration message its stream refuses holds back its own source only: stored events go out while it is retried', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject) => {
      const streamId = uniqueStreamId();
      await h.store.appendToStream<AccountEvent>({
        streamId,
        streamType: 'account',
        expectedVersion: 'no_stream',
        events: [opened(), deposited(5)],
        messages: [{ subject: fullSubject, orderingKey: streamId, body: { notice: 1 } }],
      });
      const publisher = h.publisher({ retryBackoff: { baseMs: 10, maxMs: 50 } });

      // Were the events held back behind the notice, no run would publish them.
      const report = await runUntil(publisher, (totals) => totals.published >= 2 && /maximum messages exceeded/.test(totals.lastError ?? ''), 1_000);
      expect(report).toMatchObject({ published: 2, parked: 0, caughtUp: false });
      expect(await versionsOf(h, streamId)).toEqual([1, 2]);
    });
  });

  it('what went out or was parked behind a held-back message is not sent again while it is retried, in its run or a later one', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject) => {
      const streamId = uniqueStreamId();
      const notice = (orderingKey: string, subject: string) => ({ subject, orderingKey, body: { orderingKey } });
      // One partition, in this order: held back (its stream is full), refused for good (no stream), and one that goes out.
      await h.store.appendToStream<AccountEvent>({
        streamId,
        streamType: 'account',
        expectedVersion: 'no_stream',
        events: [opened()],
        messages: [notice('held', fullSubject), notice('nowhere', `${h.subjectPrefix}nowhere.notices`), notice('free', `${h.subjectPrefix}.notices.free`)],
      });
      const publisher = h.publisher({ partitions: 1, retryBackoff: { baseMs: 10, maxMs: 20 } });

      // A run that reaches the held-back notice retries it until its deadline. Two such runs, with several retries between them.
      const reachedHeld = (totals: RunTotals) => totals.reports.filter((report) => report.retried > 0).length;
      const report = await runUntil(publisher, (totals) => reachedHeld(totals) >= 2 && totals.retried > 3, 1_000);
      // The event and the free notice once, however often the held one was retried, and in however many runs.
      // The one without a stream parked once.
      expect(report).toMatchObject({ published: 2, duplicates: 0, parked: 1 });
      expect(await listParkedMessages(h.db)).toMatchObject([{ orderingKey: 'nowhere', refusals: 1 }]);
      const free = (await readStoredMessages(h.nc, h.streamName)).filter((message) => message.subject.endsWith('.notices.free'));
      expect(free).toHaveLength(1);
    });
  });

  it('a subject the publisher’s user may not publish to, until its permissions are fixed: retried with the server’s refusal, not waited out as a timeout, and never parked', async () => {
    const h = await harness();
    const users = (deny: string) => `authorization { users = [ { user: publisher, password: secret, permissions: { publish: { allow: ">", deny: ${deny} }, subscribe: ">" } } ] }`;
    const nats = await startPrivateNatsServer({ settings: users(`"${h.subjectPrefix}.account.MoneyDeposited"`) });
    opened_.push(nats);
    const { streamId } = await appendAround(h, deposited(1));
    const publishTimeoutMs = 10_000;
    const publisher = h.publisher({ connect: () => connectNats({ servers: nats.url, user: 'publisher', pass: 'secret' }), publishTimeoutMs, retryBackoff: { baseMs: 10, maxMs: 50 } });

    const started = Date.now();
    const blocked = await runUntil(publisher, (totals) => totals.published >= 1 && /Permissions Violation for Publish/.test(totals.lastError ?? ''), 1_000);
    // Told at once: a timeout would have taken the publish timeout for each try.
    expect(Date.now() - started).toBeLessThan(publishTimeoutMs);
    expect(blocked).toMatchObject({ published: 1, parked: 0, caughtUp: false });
    expect(await listParkedMessages(h.db)).toEqual([]);

    await nats.reconfigure(users('"nothing.denied"'));
    await publishEverything(h.db, publisher);
    const nc = await connectNats({ servers: nats.url, user: 'publisher', pass: 'secret' });
    try {
      const stored = (await readStoredMessages(nc, h.streamName)).filter((message) => message.header.get('Stream-Id') === streamId);
      expect(stored.map((message) => Number(message.header.get('Stream-Version')))).toEqual([1, 2, 3]);
    } finally {
      await nc.close();
    }
    expect(await listParkedMessages(h.db)).toEqual([]);
  });

  it('insufficient resources (JetStream’s storage full) until space is freed', async () => {
    const nats = await startPrivateNatsServer({ jetstream: 'max_file_store: 1MB' });
    opened_.push(nats);
    const h = await harness();
    const nc = await connectNats({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'FILLER', subjects: ['filler.>'] });
      const js = jetstream(nc);
      for (let index = 0; index < 5; index++) await js.publish('filler.x', 'x'.repeat(190_000));
      const { streamId } = await appendAround(h, { type: 'StatementAttached', data: { pdf: 'y'.repeat(150_000) } });
      const versions = async () => {
        const messages = await readStoredMessages(nc, h.streamName);
        return messages.filter((message) => message.header.get('Stream-Id') === streamId).map((message) => Number(message.header.get('Stream-Version')));
      };
      const publisher = h.publisher({ connect: () => connectNats({ servers: nats.url }), retryBackoff: { baseMs: 10, maxMs: 50 } });

      const blocked = await runUntil(publisher, (totals) => /insufficient resources/.test(totals.lastError ?? ''), 500);
      expect(blocked).toMatchObject({ parked: 0, caughtUp: false });
      expect(await listParkedMessages(h.db)).toEqual([]);

      await jsm.streams.purge('FILLER');
      await publishEverything(h.db, publisher);
      expect(await versions()).toEqual([1, 2, 3]);
    } finally {
      await nc.close();
    }
  });

  it.each([
    ['no leader', 10009, 'JetStream cluster can not handle request'],
    ['the system temporarily unavailable', 10008, 'JetStream system temporarily unavailable'],
    ['too many requests', 10167, 'too many requests'],
    ['a stream offline', 10118, 'stream is offline'],
    ['a duplicate id in process', 10158, 'duplicate message id is in process'],
    ['a clustered stream’s own sequence out of step (no header asks for it)', 10063, 'expected stream sequence does not match'],
  ])('%s (%i) is passing', async (_, errCode, description) => {
    const error = new JetStreamApiError({ code: 503, err_code: errCode, description });
    expect(await refusedForGood(error, 'events.account.AccountOpened', () => Promise.resolve({ kind: 'acknowledging' } as const))).toBe(false);
  });

  it.each([
    ['an expected last sequence per subject without the sequence', 10193, 'missing sequence for expected last sequence per subject'],
    ['a wrong last sequence', 10071, 'wrong last sequence: 4'],
    ['a header over 64 KiB', 10097, 'header size exceeds maximum allowed of 64k'],
  ])('%s (%i) is final: the message carries it to every try', async (_, errCode, description) => {
    const error = new JetStreamApiError({ code: 400, err_code: errCode, description });
    expect(await refusedForGood(error, 'notices.expecting', () => Promise.resolve({ kind: 'acknowledging' } as const))).toBe(true);
  });

  it('"no responders" is passing while a stream captures the subject (JetStream restarting), final when none does', async () => {
    const error = new NoRespondersError('events.account.AccountOpened');
    expect(await refusedForGood(error, 'events.account.AccountOpened', () => Promise.resolve({ kind: 'acknowledging' } as const))).toBe(false);
    expect(await refusedForGood(error, 'events.account.AccountOpened', () => Promise.reject(new Error('timeout')))).toBe(false);
    expect(await refusedForGood(error, 'events.account.AccountOpened', () => Promise.resolve({ kind: 'none' } as const))).toBe(true);
  });
});
