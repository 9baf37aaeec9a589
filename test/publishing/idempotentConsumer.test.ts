import { runInNewContext } from 'node:vm';
import { AckPolicy, jetstream, jetstreamManager, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos, type MsgHdrs } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionLostError, type Db, type Queryable } from '../../core/db';
import {
  ConsumeOptionsError,
  EffectWentOnPastFailureError,
  handleEventMessage,
  handleIntegrationMessage,
  handleMessageOnce,
  isEventMessage,
  MalformedMessageError,
  MessageAckFailedError,
  NotAnEventMessageError,
  NotAnIntegrationMessageError,
  processOnce,
  ProcessedMessageKeyError,
  requireExplicitAck,
  type EventEnvelope,
} from '../../core/publishing';
import { retentionConfigFromEnv, runRetention } from '../../core/service';
import { deferred, deposited, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { connectNats } from '../support/natsTesting';
import { dyingBeforeCheckpoint, publishEverything, publishedDepositWithNotice, runUntilItDies, startPublishingHarness, type PublishingHarness } from './publishingHarness';
import { withUnhandledRejections } from '../support/unhandledRejections';

let harness: PublishingHarness;
let consumers = 0;
const ACK_WAIT_MS = 2_500;

beforeAll(async () => {
  harness = await startPublishingHarness();
  await harness.db.query('CREATE TABLE deposits_seen (consumer text, account text, amount integer)');
  // Made here, so that each test can publish to it on its own; the publisher takes it as it finds it.
  await jetstreamManager(harness.nc).then((jsm) => jsm.streams.add({ name: harness.streamName, subjects: [`${harness.subjectPrefix}.>`] }));
});

afterAll(async () => {
  await harness.close();
});

/** A durable consumer over this file's stream that redelivers unacknowledged messages after 2.5 s. */
async function newConsumer(): Promise<{ name: string; consumer: Consumer }> {
  const name = `consumer${++consumers}`;
  const jsm = await jetstreamManager(harness.nc);
  await jsm.consumers.add(harness.streamName, { durable_name: name, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ACK_WAIT_MS) });
  return { name, consumer: await jetstream(harness.nc).consumers.get(harness.streamName, name) };
}

function headersOf(values: Record<string, string>): MsgHdrs {
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(values)) headers.set(name, value);
  return headers;
}

async function fetchAll(consumer: Consumer, max: number): Promise<JsMsg[]> {
  const batch = await consumer.fetch({ max_messages: max, expires: 1_000 });
  const messages: JsMsg[] = [];
  for await (const message of batch) messages.push(message);
  return messages;
}

const recordDeposit = (consumer: string) => async (tx: Queryable, envelope: EventEnvelope) => {
  if (envelope.type !== 'MoneyDeposited') return;
  await tx.query('INSERT INTO deposits_seen VALUES ($1, $2, $3)', [consumer, envelope.streamId, envelope.data.amount]);
};

const totalSeen = async (consumer: string) =>
  (await harness.db.query<{ total: number; rows: number }>(
    'SELECT coalesce(sum(amount), 0)::integer AS total, count(*)::integer AS rows FROM deposits_seen WHERE consumer = $1',
    [consumer],
  )).rows[0];

async function appendDeposits(count: number): Promise<string> {
  const streamId = uniqueStreamId();
  await harness.store.appendToStream<AccountEvent>({
    streamId,
    streamType: 'account',
    expectedVersion: 'no_stream',
    events: Array.from({ length: count }, (_, index) => deposited(index + 1)),
  });
  return streamId;
}

/** A handler of notices that records each one's amount against `streamId` for `consumer`. */
const recordNotice = (consumer: string, streamId: string) => async (tx: Queryable, body: unknown) => {
  await tx.query('INSERT INTO deposits_seen VALUES ($1, $2, $3)', [consumer, streamId, (body as { amount: number }).amount]);
};

/**
 * A transfer notice sent with `headers` to a fresh consumer of its own, as it
 * is delivered, and a handler that appends it to the `inbound` stream (an
 * event-sourced consumer).
 */
async function deliveredNotice(inbound: string, headers: Record<string, string>) {
  const { name, consumer } = await newConsumer();
  for (const message of await fetchAll(consumer, 1_000)) await message.ackAck();
  harness.nc.publish(`${harness.subjectPrefix}.notices.transfer`, JSON.stringify({ amount: 5 }), { headers: headersOf({ 'Nats-Msg-Id': `${inbound}-notice`, ...headers }) });
  await harness.nc.flush();
  await sleep(100);
  const [notice] = await fetchAll(consumer, 10);
  if (!notice) throw new Error('the notice was not delivered');
  const appendNotice = async (tx: Queryable, body: unknown) => {
    await harness.store.appendToStream({ streamId: inbound, streamType: 'inbound', expectedVersion: 'any', events: [{ type: 'TransferNoticed', data: body as object }] }, tx);
  };
  return { name, notice, appendNotice };
}

describe('the idempotent consumer helper', () => {
  it('given a publisher killed between the acknowledgements and its checkpoint, the consumer applies every event once', async () => {
    await appendDeposits(10);
    expect(await runUntilItDies(harness.publisher({ db: dyingBeforeCheckpoint(harness.db), leaseTtlMs: 1_000 }))).toMatchObject({
      message: expect.stringContaining('killed') as string,
    });
    await sleep(1_200);
    const recovery = await publishEverything(harness.db, harness.publisher());
    expect(recovery.duplicates).toBe(10);

    const { name, consumer } = await newConsumer();
    const outcomes = [];
    for (const message of await fetchAll(consumer, 100)) outcomes.push(await handleEventMessage(harness.db, name, message, recordDeposit(name)));
    expect(outcomes).toEqual(Array.from({ length: 10 }, () => 'processed'));
    expect(await totalSeen(name)).toEqual({ total: 55, rows: 10 });
  });

  it('when the consumer dies after its commit and before its ack, the redelivery has no second effect', async () => {
    await appendDeposits(3);
    await publishEverything(harness.db, harness.publisher());
    const { name, consumer } = await newConsumer();
    // Exactly what waits, so the fetch ends as the last arrives: ack_wait runs from delivery, and every message but three is acknowledged within it.
    const skipped = await fetchAll(consumer, (await consumer.info()).num_pending);
    const first = skipped.slice(-3);
    // Committed, never acknowledged: the consumer process died here.
    for (const message of first) {
      const envelope = message.json<EventEnvelope>();
      await processOnce(harness.db, name, envelope.eventId, (tx) => recordDeposit(name)(tx, envelope));
    }
    for (const message of skipped.slice(0, -3)) await message.ackAck();
    await sleep(ACK_WAIT_MS);
    const redelivered = await fetchAll(consumer, 100);
    expect(redelivered.map((message) => message.info.redelivered)).toEqual([true, true, true]);
    const outcomes = [];
    for (const message of redelivered) outcomes.push(await handleEventMessage(harness.db, name, message, recordDeposit(name)));
    expect(outcomes).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(await totalSeen(name)).toEqual({ total: 6, rows: 3 });
    // Each duplicate was acknowledged (ackAck waits for the server), so none will come back after ack_wait.
    expect((await consumer.info()).num_ack_pending).toBe(0);
  });

  it('when the handler fails, writes nothing, and the redelivered message is processed once', async () => {
    await appendDeposits(1);
    await publishEverything(harness.db, harness.publisher());
    const { name, consumer } = await newConsumer();
    const all = await fetchAll(consumer, 100);
    for (const message of all.slice(0, -1)) await message.ackAck();
    const [last] = all.slice(-1);
    if (!last) throw new Error('no message');
    const failing = async (tx: Queryable, envelope: EventEnvelope) => {
      await recordDeposit(name)(tx, envelope);
      throw new Error('downstream unavailable');
    };
    await expect(handleEventMessage(harness.db, name, last, failing, { retryDelayMs: 50 })).rejects.toThrow('downstream unavailable');
    expect(await totalSeen(name)).toEqual({ total: 0, rows: 0 });

    const [again] = await fetchAll(consumer, 100);
    if (!again) throw new Error('not redelivered');
    expect(await handleEventMessage(harness.db, name, again, recordDeposit(name))).toBe('processed');
    expect(await totalSeen(name)).toEqual({ total: 1, rows: 1 });
  });

  it('terminates a message it cannot read, so it is never delivered again, and writes nothing', async () => {
    const { name, consumer } = await newConsumer();
    for (const message of await fetchAll(consumer, 1_000)) await message.ackAck();
    harness.nc.publish(`${harness.subjectPrefix}.account.Garbled`, 'not json');
    harness.nc.publish(`${harness.subjectPrefix}.account.Odd`, '{}');
    await harness.nc.flush();
    await sleep(100);
    const [garbled, odd] = await fetchAll(consumer, 10);
    if (!garbled || !odd) throw new Error('the messages were not delivered');
    await expect(handleEventMessage(harness.db, name, garbled, recordDeposit(name), { retryDelayMs: 50 })).rejects.toBeInstanceOf(MalformedMessageError);
    // A read whose answer throws as it is looked at (a `then` getter) cannot read the message either.
    const unreadable = () => Object.defineProperty({}, 'then', { get: () => { throw new Error('no then here'); } }) as { id: string; body: unknown };
    await expect(handleMessageOnce(harness.db, name, odd, unreadable, () => Promise.resolve(), { retryDelayMs: 50 })).rejects.toBeInstanceOf(MalformedMessageError);
    await sleep(ACK_WAIT_MS + 200);
    expect(await fetchAll(consumer, 10)).toEqual([]);
    expect(await totalSeen(name)).toEqual({ total: 0, rows: 0 });
  });

  it.each([
    ['is longer than the processed record holds (200 characters)', 'x'.repeat(201)],
    ['holds a NUL character, which PostgreSQL text cannot hold', 'notice\u0000one'],
  ])('terminates a message whose id %s, so it is never delivered again, and writes nothing', async (_, messageId) => {
    const { name, consumer } = await newConsumer();
    for (const message of await fetchAll(consumer, 1_000)) await message.ackAck();
    harness.nc.publish(`${harness.subjectPrefix}.notices.badId`, JSON.stringify({ amount: 7 }), { headers: headersOf({ 'Nats-Msg-Id': messageId }) });
    await harness.nc.flush();
    await sleep(100);
    const [badId] = await fetchAll(consumer, 10);
    if (!badId) throw new Error('the message was not delivered');
    const record = async (tx: Queryable) => {
      await tx.query('INSERT INTO deposits_seen VALUES ($1, $2, $3)', [name, 'bad id', 7]);
    };

    await expect(handleIntegrationMessage(harness.db, name, badId, record, { retryDelayMs: 50 })).rejects.toBeInstanceOf(MalformedMessageError);

    await sleep(ACK_WAIT_MS + 200);
    expect(await fetchAll(consumer, 10)).toEqual([]);
    expect(await totalSeen(name)).toEqual({ total: 0, rows: 0 });
  });

  it('given a handler that appends events in its transaction (an event-sourced consumer), the message is processed once and its events stored once', async () => {
    const inbound = uniqueStreamId('inbound');
    const { name, notice, appendNotice } = await deliveredNotice(inbound, { traceparent: 'not-a-traceparent', tracestate: 'vendor=1' });

    expect(await handleIntegrationMessage(harness.db, name, notice, appendNotice)).toBe('processed');
    expect(await processOnce(harness.db, name, `${inbound}-notice`, (tx) => appendNotice(tx, { amount: 5 }))).toEqual({ processed: false });

    const { events } = await harness.store.readStream(inbound);
    expect(events.map((event) => [event.type, event.data])).toEqual([['TransferNoticed', { amount: 5 }]]);
    // The header was no traceparent, and nothing here traces: the event carries no trace, nor the tracestate.
    expect(events[0]?.metadata).not.toHaveProperty('traceparent');
    expect(events[0]?.metadata).not.toHaveProperty('tracestate');
  });

  it('given a traceparent of a newer version with a tail the store cannot hold, the message is processed once, its events carrying the trace as version 00', async () => {
    const inbound = uniqueStreamId('inbound');
    const [traceId, spanId] = ['a'.repeat(32), 'b'.repeat(16)];
    const { name, notice, appendNotice } = await deliveredNotice(inbound, { traceparent: `01-${traceId}-${spanId}-01-x\u0000y` });

    expect(await handleIntegrationMessage(harness.db, name, notice, appendNotice)).toBe('processed');

    const { events } = await harness.store.readStream(inbound);
    expect(events.map((event) => event.metadata.traceparent)).toEqual([`00-${traceId}-${spanId}-01`]);
  });

  it("keeps what an event-sourced consumer appends in the story of the message's request: its correlation id, the message as its cause, not the command", async () => {
    const { name, consumer } = await newConsumer();
    for (const message of await fetchAll(consumer, 1_000)) await message.ackAck();
    const inbound = uniqueStreamId('inbound');
    const notice = (id: string, correlationId: string) => {
      harness.nc.publish(`${harness.subjectPrefix}.notices.correlated`, JSON.stringify({ amount: 5 }), {
        headers: headersOf({ 'Nats-Msg-Id': id, 'Correlation-Id': correlationId, 'Command-Id': 'command-elsewhere' }),
      });
    };
    notice(`${inbound}-1`, 'request-1');
    // Ones the store would not keep (too long, a NUL): the message's own id stands in, and the append still goes through.
    notice(`${inbound}-2`, 'c'.repeat(201));
    notice(`${inbound}-3`, 'request\u0000-3');
    await harness.nc.flush();
    await sleep(100);
    const appendNotice = async (tx: Queryable, body: unknown) => {
      await harness.store.appendToStream({ streamId: inbound, streamType: 'inbound', expectedVersion: 'any', events: [{ type: 'TransferNoticed', data: body as object }] }, tx);
    };

    for (const message of await fetchAll(consumer, 10)) expect(await handleIntegrationMessage(harness.db, name, message, appendNotice)).toBe('processed');

    const { events } = await harness.store.readStream(inbound);
    expect(events.map((event) => event.metadata)).toEqual([
      { correlationId: 'request-1', causationId: `${inbound}-1` },
      { correlationId: `${inbound}-2`, causationId: `${inbound}-2` },
      { correlationId: `${inbound}-3`, causationId: `${inbound}-3` },
    ]);
  });

  it("reads a message's context headers in any case: an HTTP server's lower-cased correlation id and trace go on with what the handler appends", async () => {
    const inbound = uniqueStreamId('inbound');
    const [traceId, spanId] = ['c'.repeat(32), 'd'.repeat(16)];
    const { name, notice, appendNotice } = await deliveredNotice(inbound, { 'correlation-id': 'request-lower', TRACEPARENT: `00-${traceId}-${spanId}-01` });

    expect(await handleIntegrationMessage(harness.db, name, notice, appendNotice)).toBe('processed');

    const { events } = await harness.store.readStream(inbound);
    expect(events.map((event) => event.metadata)).toEqual([
      { correlationId: 'request-lower', causationId: `${inbound}-notice`, traceparent: `00-${traceId}-${spanId}-01` },
    ]);
  });

  it("gives the handler an event's data and metadata as stored, an own \"__proto__\" key among them", async () => {
    const streamId = uniqueStreamId();
    const own = JSON.parse('{"__proto__": {"role": "admin"}, "amount": 5}') as { amount: number };
    await harness.store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [{ type: 'Tagged', data: own, metadata: own }] });
    const [stored] = (await harness.store.readStream(streamId)).events;
    await publishEverything(harness.db, harness.publisher());
    const { name, consumer } = await newConsumer();
    const seen: EventEnvelope[] = [];

    for (const message of await fetchAll(consumer, 1_000)) {
      if (!message.subject.endsWith('.Tagged')) continue;
      await handleEventMessage(harness.db, name, message, async (_tx, envelope) => {
        seen.push(envelope);
        await Promise.resolve();
      });
    }

    expect(seen).toHaveLength(1);
    expect(Object.entries(seen[0]?.data ?? {})).toEqual(Object.entries(stored?.data ?? {}));
    expect(Object.keys(seen[0]?.data ?? {})).toContain('__proto__');
    expect(Object.keys(seen[0]?.metadata ?? {})).toContain('__proto__');
  });

  it('handles an integration message once, keyed by its message id', async () => {
    const streamId = await publishedDepositWithNotice(harness, 'large', { body: { amount: 40 } });
    const { name, consumer } = await newConsumer();
    const notices = (await fetchAll(consumer, 1_000)).filter((message) => message.subject.endsWith('.notices.large'));
    const [notice] = notices;
    if (!notice) throw new Error('no notice');
    expect(await handleIntegrationMessage(harness.db, name, notice, recordNotice(name, streamId))).toBe('processed');
    expect(await processOnce(harness.db, name, notice.headers?.get('Nats-Msg-Id') ?? '', () => Promise.resolve())).toEqual({ processed: false });
    expect(await totalSeen(name)).toEqual({ total: 40, rows: 1 });
  });

  it('given an integration message among the events its consumer reads, handleEventMessage terminates it for that consumer with NotAnEventMessageError, and a consumer that dispatches by isEventMessage processes it once', async () => {
    const streamId = await publishedDepositWithNotice(harness, 'mixed', { body: { amount: 7 } });
    const isNotice = (message: JsMsg) => message.subject.endsWith('.notices.mixed');
    const mine = async (consumer: Consumer) => (await fetchAll(consumer, 1_000)).filter((message) => isNotice(message) || message.headers?.get('Stream-Id') === streamId);
    const eventsOnly = await newConsumer();
    const delivered = await mine(eventsOnly.consumer);
    const notice = delivered.find(isNotice);
    if (!notice) throw new Error('the notice was not delivered');

    expect(delivered.map((message) => [message.subject.split('.').slice(1).join('.'), isEventMessage(message)])).toEqual(
      expect.arrayContaining([['account.MoneyDeposited', true], ['notices.mixed', false]]),
    );
    await expect(handleEventMessage(harness.db, eventsOnly.name, notice, recordDeposit(eventsOnly.name), { retryDelayMs: 50 })).rejects.toBeInstanceOf(NotAnEventMessageError);
    await sleep(ACK_WAIT_MS + 200);
    expect((await fetchAll(eventsOnly.consumer, 10)).filter(isNotice)).toEqual([]);
    expect(await totalSeen(eventsOnly.name)).toEqual({ total: 0, rows: 0 });

    const both = await newConsumer();
    for (const message of await mine(both.consumer)) {
      const outcome = isEventMessage(message)
        ? await handleEventMessage(harness.db, both.name, message, recordDeposit(both.name))
        : await handleIntegrationMessage(harness.db, both.name, message, recordNotice(both.name, streamId));
      expect(outcome).toBe('processed');
    }
    expect(await totalSeen(both.name)).toEqual({ total: 8, rows: 2 });
  });

  it('given a stored event among the messages an integration consumer reads, handleIntegrationMessage terminates it for that consumer with NotAnIntegrationMessageError and writes nothing', async () => {
    const streamId = await publishedDepositWithNotice(harness, 'evented', { body: { amount: 3 } });
    const isDeposit = (message: JsMsg) => message.headers?.get('Stream-Id') === streamId && message.subject.endsWith('.MoneyDeposited');
    const noticesOnly = await newConsumer();
    const deposit = (await fetchAll(noticesOnly.consumer, 1_000)).find(isDeposit);
    if (!deposit) throw new Error('the deposit was not delivered');

    await expect(handleIntegrationMessage(harness.db, noticesOnly.name, deposit, recordNotice(noticesOnly.name, streamId), { retryDelayMs: 50 })).rejects.toBeInstanceOf(
      NotAnIntegrationMessageError,
    );

    await sleep(ACK_WAIT_MS + 200);
    expect((await fetchAll(noticesOnly.consumer, 10)).filter(isDeposit)).toEqual([]);
    expect(await totalSeen(noticesOnly.name)).toEqual({ total: 0, rows: 0 });
  });

  it('given the connection closed while the handler ran, says with MessageAckFailedError that the effect is committed and only the acknowledgement failed; the redelivery is then a duplicate', async () => {
    const { name, consumer } = await newConsumer();
    for (const earlier of await fetchAll(consumer, 1_000)) await earlier.ackAck();
    const streamId = await appendDeposits(1);
    await publishEverything(harness.db, harness.publisher());
    const nc = await connectNats();
    try {
      const [message] = await fetchAll(await jetstream(nc).consumers.get(harness.streamName, name), 10);
      if (!message) throw new Error('the deposit was not delivered');
      const closingFirst = async (tx: Queryable, envelope: EventEnvelope) => {
        await nc.close();
        await recordDeposit(name)(tx, envelope);
      };

      const error = await handleEventMessage(harness.db, name, message, closingFirst).then(() => undefined, (thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(MessageAckFailedError);
      expect(error).toMatchObject({ code: 'ACK_FAILED', outcome: 'processed', messageId: message.headers?.get('Nats-Msg-Id') });
      expect(await totalSeen(name)).toEqual({ total: 1, rows: 1 });
      await sleep(ACK_WAIT_MS + 200);
      const [again] = await fetchAll(consumer, 10);
      expect(again?.headers?.get('Stream-Id')).toBe(streamId);
      if (!again) throw new Error('not delivered again');
      expect(await handleEventMessage(harness.db, name, again, recordDeposit(name))).toBe('duplicate');
      expect(await totalSeen(name)).toEqual({ total: 1, rows: 1 });
    } finally {
      await nc.close().catch(() => undefined);
    }
  }, 20_000);

  it('refuses a consumer name or message id the processed record cannot hold before the effect runs, where it would run and roll back on every delivery', async () => {
    const effects: string[] = [];
    const effect = async () => {
      effects.push('effect');
      await Promise.resolve();
    };
    for (const [consumer, messageId] of [['c'.repeat(201), 'message-1'], ['', 'message-1'], ['nul\u0000consumer', 'message-1'], ['consumer', 'm'.repeat(201)],
      // Stored as U+FFFD: 'order-7\udfff' would then be taken for the same message.
      ['consumer', 'order-7\ud800'], ['lone\udc00consumer', 'message-1']]) {
      await expect(processOnce(harness.db, consumer ?? '', messageId ?? '', effect), consumer).rejects.toBeInstanceOf(ProcessedMessageKeyError);
    }
    expect(effects).toEqual([]);
    // 200 characters, 400 UTF-16 units: the table holds it.
    expect(await processOnce(harness.db, '🙂'.repeat(200), 'message-1', effect)).toEqual({ processed: true });
    expect(effects).toEqual(['effect']);
    effects.length = 0;
    const { consumer } = await newConsumer();
    for (const earlier of await fetchAll(consumer, 1_000)) await earlier.ackAck();
    harness.nc.publish(`${harness.subjectPrefix}.notices.sent`, JSON.stringify({ amount: 7 }), { headers: headersOf({ 'Nats-Msg-Id': 'notice-1' }) });
    await harness.nc.flush();
    const [message] = await fetchAll(consumer, 1);
    if (!message) throw new Error('the message was not delivered');
    await expect(handleIntegrationMessage(harness.db, 'c'.repeat(201), message, effect)).rejects.toBeInstanceOf(ProcessedMessageKeyError);
    expect(effects).toEqual([]);
  });

  it('refuses a retry delay that is not a whole number of milliseconds from 0 before the message is touched: NaN or a negative delay reaches JetStream as none, and a failing handler\'s message would come back at once, for ever', async () => {
    const inbound = uniqueStreamId('inbound');
    const { name, notice } = await deliveredNotice(inbound, {});
    const effects: string[] = [];
    const failing = async () => {
      effects.push('effect');
      await Promise.reject(new Error('the handler fails'));
    };

    for (const retryDelayMs of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, null as unknown as number]) {
      await expect(handleIntegrationMessage(harness.db, name, notice, failing, { retryDelayMs }), String(retryDelayMs)).rejects.toThrow(
        new ConsumeOptionsError(`retryDelayMs must be a whole number of milliseconds from 0 to 2147483647, not ${String(retryDelayMs)}`),
      );
    }
    expect(effects).toEqual([]);
    await expect(handleIntegrationMessage(harness.db, name, notice, failing, { retryDelayMs: 0 })).rejects.toThrow('the handler fails');
    expect(effects).toEqual(['effect']);
  });

  /** A consumer of its own with one integration message delivered to it, and what processes it: a read, an effect, and the effects run. */
  async function oneNoticeDelivered() {
    const inbound = uniqueStreamId('inbound');
    const { name, consumer } = await newConsumer();
    for (const message of await fetchAll(consumer, 1_000)) await message.ackAck();
    harness.nc.publish(`${harness.subjectPrefix}.notices.transfer`, JSON.stringify({ amount: 5 }), { headers: headersOf({ 'Nats-Msg-Id': `${inbound}-notice` }) });
    await harness.nc.flush();
    await sleep(100);
    const [notice] = await fetchAll(consumer, 10);
    if (!notice) throw new Error('the notice was not delivered');
    const effects: string[] = [];
    const effect = async () => {
      effects.push('effect');
      await Promise.resolve();
    };
    const read = (message: JsMsg) => ({ id: message.headers?.get('Nats-Msg-Id') ?? '', body: message.json<unknown>() });
    // Left to come back: the fixed consumer processes it, once.
    const processedOnRedelivery = async () => {
      const [redelivered] = await fetchAll(consumer, 1).then(async (first) => (first.length > 0 ? first : sleep(ACK_WAIT_MS).then(() => fetchAll(consumer, 1))));
      if (!redelivered) throw new Error('the notice was not delivered again');
      expect(await handleIntegrationMessage(harness.db, name, redelivered, effect)).toBe('processed');
      expect(effects).toEqual(['effect']);
    };
    return { name, notice, read, effect, processedOnRedelivery };
  }

  it('refuses a read or handler that is no function, or options that are no object, with ConsumeOptionsError before the message is touched: the caller\'s mistake, so the message comes back for the fixed consumer', async () => {
    const { name, notice, read, effect, processedOnRedelivery } = await oneNoticeDelivered();

    await expect(handleMessageOnce(harness.db, name, notice, undefined as unknown as typeof read, effect)).rejects.toThrow(ConsumeOptionsError);
    await expect(handleMessageOnce(harness.db, name, notice, read, 'effect' as unknown as typeof effect)).rejects.toThrow(ConsumeOptionsError);
    await expect(handleEventMessage(harness.db, name, notice, effect, null as unknown as object)).rejects.toThrow(ConsumeOptionsError);
    await expect(processOnce(harness.db, name, 'message-2', undefined as unknown as typeof effect)).rejects.toThrow(ConsumeOptionsError);

    await processedOnRedelivery();
  });

  it('refuses a read that answers with a promise (an async function, one of another realm that rejects, a thenable whose then throws) with ConsumeOptionsError, no rejection left unhandled: taken as unreadable, every message would be terminated', async () => {
    const { name, notice, read, effect, processedOnRedelivery } = await oneNoticeDelivered();

    const readLater = (async (message: JsMsg) => Promise.resolve(read(message))) as unknown as typeof read;
    await expect(handleMessageOnce(harness.db, name, notice, readLater, effect)).rejects.toThrow(ConsumeOptionsError);
    // A promise of another realm (a vm context) that rejects: refused the same, its rejection not left unhandled to end the process.
    const failingLater = runInNewContext('(async () => { throw new Error("read failed in another realm"); })') as () => Promise<never>;
    const { result: refusal, escaped } = await withUnhandledRejections(() => handleMessageOnce(harness.db, name, notice, failingLater as unknown as typeof read, effect).catch((error: unknown) => error));
    expect({ refusal, escaped }).toEqual({ refusal: expect.any(ConsumeOptionsError) as unknown, escaped: [] });
    const brokenThenable = (() => ({ then: () => { throw new Error('a then that throws'); } })) as unknown as typeof read;
    await expect(handleMessageOnce(harness.db, name, notice, brokenThenable, effect)).rejects.toThrow(ConsumeOptionsError);

    await processedOnRedelivery();
  });

  it('refuses a consumer that does not acknowledge each message on its own: under AckPolicy.All a later ack takes a failed message with it, under None nothing comes back', async () => {
    const jsm = await jetstreamManager(harness.nc);
    const consumerWith = async (policy: AckPolicy) => {
      const name = `consumer${++consumers}`;
      await jsm.consumers.add(harness.streamName, { durable_name: name, ack_policy: policy });
      return jetstream(harness.nc).consumers.get(harness.streamName, name);
    };

    for (const policy of [AckPolicy.All, AckPolicy.None]) {
      const consumer = await consumerWith(policy);
      await expect(requireExplicitAck(consumer)).rejects.toMatchObject({ name: 'ConsumeOptionsError', message: expect.stringContaining(`"${policy}"`) as unknown });
    }
    const explicit = await consumerWith(AckPolicy.Explicit);
    expect(await requireExplicitAck(explicit)).toBe(explicit);
  });

  it('given a delivery whose effect hangs in its transaction, a redelivery waiting on its lock goes on once the hung one sat idle past its bound, and the effect is kept once', async () => {
    const effects: string[] = [];
    const hanging = deferred();
    const hangs = deferred();
    const hung = processOnce(harness.db, 'hanging', 'message-h', async (tx) => {
      await tx.query("INSERT INTO deposits_seen VALUES ('hanging', 'hung', 1)");
      effects.push('hung');
      hanging.resolve();
      await hangs.promise;
    }, { idleTimeoutMs: 1_000 }).catch((error: unknown) => error);
    await Promise.race([hanging.promise, hung]);

    const redelivered = await processOnce(harness.db, 'hanging', 'message-h', async (tx) => {
      await tx.query("INSERT INTO deposits_seen VALUES ('hanging', 'redelivered', 1)");
      effects.push('redelivered');
    });
    hangs.resolve();

    expect(redelivered).toEqual({ processed: true });
    expect(await hung).toBeInstanceOf(ConnectionLostError);
    const { rows } = await harness.db.query<{ account: string }>("SELECT account FROM deposits_seen WHERE consumer = 'hanging'");
    expect(rows).toEqual([{ account: 'redelivered' }]);
    expect(effects).toEqual(['hung', 'redelivered']);
  });

  it('refuses an idle bound that is no whole number of milliseconds from 1 (null too, where only one left out takes the default) with ConsumeOptionsError, before the effect runs', async () => {
    for (const idleTimeoutMs of [0, -1, 1.5, Number.NaN, 2_147_483_648, null as unknown as number]) {
      let ran = false;
      const refused = processOnce(harness.db, 'bounded', 'message-b', () => {
        ran = true;
        return Promise.resolve();
      }, { idleTimeoutMs });
      await expect(refused, String(idleTimeoutMs)).rejects.toThrow(
        new ConsumeOptionsError(`idleTimeoutMs must be a whole number of milliseconds from 1 to 2147483647, not ${String(idleTimeoutMs)}`),
      );
      expect(ran).toBe(false);
    }
  });

  it('given an effect that catches a failed statement and goes on, refuses with EffectWentOnPastFailureError and keeps nothing: neither the effect\'s writes nor the record', async () => {
    const swallowing = async (tx: Queryable) => {
      await tx.query("INSERT INTO deposits_seen VALUES ('swallowing', 'before', 1)");
      await tx.query('SELECT 1 / 0').catch(() => undefined);
    };

    const refused = await processOnce(harness.db, 'swallowing', 'message-s', swallowing).catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(EffectWentOnPastFailureError);
    expect(refused).toMatchObject({ code: 'EFFECT_WENT_ON_PAST_FAILURE', consumer: 'swallowing', messageId: 'message-s', cause: { code: '25P02' } });
    expect(await totalSeen('swallowing')).toEqual({ total: 0, rows: 0 });
    const { rows } = await harness.db.query("SELECT FROM processed_messages WHERE consumer = 'swallowing'");
    expect(rows).toHaveLength(0);
  });

  it('refuses a transaction given for the pool with ConsumeOptionsError before the effect runs: the consumer opens its own, so that the effect and the record commit together', async () => {
    let ran = false;
    const effect = () => {
      ran = true;
      return Promise.resolve();
    };
    const { name, notice } = await deliveredNotice(uniqueStreamId('inbound'), {});

    await harness.db.transaction(async (tx) => {
      await expect(processOnce(tx as Db, 'in-a-transaction', 'message-t', effect)).rejects.toThrow(ConsumeOptionsError);
      await expect(handleIntegrationMessage(tx as Db, name, notice, effect)).rejects.toThrow(ConsumeOptionsError);
    });

    expect(ran).toBe(false);
    expect(await handleIntegrationMessage(harness.db, name, notice, effect)).toBe('processed');
  });

  it('dates the processed record from its own statement, at the end of the effect, not from the start of its transaction', async () => {
    let effectEndedAt = '';
    await processOnce(harness.db, 'dated', 'message-d', async (tx) => {
      await sleep(300);
      effectEndedAt = (await tx.query<{ at: string }>('SELECT clock_timestamp()::text AS at')).rows[0]?.at ?? '';
    });

    const { rows } = await harness.db.query<{ after: boolean }>("SELECT processed_at >= $1::timestamptz AS after FROM processed_messages WHERE consumer = 'dated'", [effectEndedAt]);
    expect(rows).toEqual([{ after: true }]);
  });

  it('runs the effect once when two deliveries of one message race', async () => {
    const effects: string[] = [];
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        processOnce(harness.db, 'racer', 'message-1', async () => {
          effects.push('effect');
          await sleep(20);
        }),
      ),
    );
    expect(results.filter((result) => result.processed)).toHaveLength(1);
    expect(effects).toEqual(['effect']);
  });
});

describe('how long the processed records are kept', () => {
  it('refuses a PROCESSED_MESSAGE_RETENTION_HOURS that is empty, not positive, or longer than ten years; the longest it accepts runs', async () => {
    for (const refused of ['', '0', '-1', 'a week', '87601', '1e12']) {
      expect(() => retentionConfigFromEnv({ PROCESSED_MESSAGE_RETENTION_HOURS: refused }), refused).toThrow(/Invalid retention configuration: PROCESSED_MESSAGE_RETENTION_HOURS/);
    }

    const longest = retentionConfigFromEnv({ PROCESSED_MESSAGE_RETENTION_HOURS: '87600' });

    expect(longest.PROCESSED_MESSAGE_RETENTION_HOURS).toBe(87_600);
    await expect(runRetention(harness.db, longest)).resolves.toMatchObject({ processedMessages: 0 });
  });
});
