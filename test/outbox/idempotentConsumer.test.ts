import { AckPolicy, jetstream, jetstreamManager, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../core/db';
import { handleOutboxMessage, processOnce, type OutboxEnvelope } from '../../core/outbox';
import { deposited, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { dyingBeforeMark, publishEverything, runUntilItDies, startOutboxHarness, type OutboxHarness } from './outboxHarness';

let harness: OutboxHarness;
let consumers = 0;
const ACK_WAIT_MS = 2_500;

beforeAll(async () => {
  harness = await startOutboxHarness();
  await harness.db.query('CREATE TABLE deposits_seen (consumer text, account text, amount integer)');
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

async function fetchAll(consumer: Consumer, max: number): Promise<JsMsg[]> {
  const batch = await consumer.fetch({ max_messages: max, expires: 1_000 });
  const messages: JsMsg[] = [];
  for await (const message of batch) messages.push(message);
  return messages;
}

const recordDeposit = (consumer: string) => async (tx: Queryable, envelope: OutboxEnvelope) => {
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

describe('the idempotent consumer helper', () => {
  it('given a publisher killed between publish and mark, the consumer applies every event once', async () => {
    await appendDeposits(10);
    expect(await runUntilItDies(harness.publisher({ db: dyingBeforeMark(harness.db), leaseTtlMs: 200 }))).toMatchObject({
      message: expect.stringContaining('killed') as string,
    });
    await sleep(300);
    const recovery = await publishEverything(harness.db, harness.publisher());
    expect(recovery.duplicates).toBe(10);

    const { name, consumer } = await newConsumer();
    const outcomes = [];
    for (const message of await fetchAll(consumer, 100)) outcomes.push(await handleOutboxMessage(harness.db, name, message, recordDeposit(name)));
    expect(outcomes).toEqual(Array.from({ length: 10 }, () => 'processed'));
    expect(await totalSeen(name)).toEqual({ total: 55, rows: 10 });
  });

  it('when the consumer dies after its commit and before its ack, the redelivery has no second effect', async () => {
    await harness.db.query('DELETE FROM outbox');
    await appendDeposits(3);
    await publishEverything(harness.db, harness.publisher());
    const { name, consumer } = await newConsumer();
    const skipped = await fetchAll(consumer, 100);
    const first = skipped.slice(-3);
    // Committed, never acknowledged: the consumer process died here.
    for (const message of first) {
      const envelope = message.json<OutboxEnvelope>();
      await processOnce(harness.db, name, envelope.eventId, (tx) => recordDeposit(name)(tx, envelope));
    }
    for (const message of skipped.slice(0, -3)) await message.ackAck();
    await sleep(ACK_WAIT_MS);
    const redelivered = await fetchAll(consumer, 100);
    expect(redelivered.map((message) => message.info.redelivered)).toEqual([true, true, true]);
    const outcomes = [];
    for (const message of redelivered) outcomes.push(await handleOutboxMessage(harness.db, name, message, recordDeposit(name)));
    expect(outcomes).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(await totalSeen(name)).toEqual({ total: 6, rows: 3 });
    expect(await fetchAll(consumer, 100)).toEqual([]);
  });

  it('when the handler fails, writes nothing, and the redelivered message is processed once', async () => {
    await harness.db.query('DELETE FROM outbox');
    await appendDeposits(1);
    await publishEverything(harness.db, harness.publisher());
    const { name, consumer } = await newConsumer();
    const all = await fetchAll(consumer, 100);
    for (const message of all.slice(0, -1)) await message.ackAck();
    const [last] = all.slice(-1);
    if (!last) throw new Error('no message');
    const failing = async (tx: Queryable, envelope: OutboxEnvelope) => {
      await recordDeposit(name)(tx, envelope);
      throw new Error('downstream unavailable');
    };
    await expect(handleOutboxMessage(harness.db, name, last, failing, { retryDelayMs: 50 })).rejects.toThrow('downstream unavailable');
    expect(await totalSeen(name)).toEqual({ total: 0, rows: 0 });

    const [again] = await fetchAll(consumer, 100);
    if (!again) throw new Error('not redelivered');
    expect(await handleOutboxMessage(harness.db, name, again, recordDeposit(name))).toBe('processed');
    expect(await totalSeen(name)).toEqual({ total: 1, rows: 1 });
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
