import { describe, expect, it } from 'vitest';
import type { AccountEvent } from '../../core/bank';
import type { Db } from '../../core/db';
import { createEventStore, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { defineUpcasters } from '../../core/upcasting';
import { expireLeases } from '../support/expireLeases';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

const db = usePooledTestDatabase(4);
const PARTITIONS = 2;

const streamIn = (partition: number) => streamIdInPartition(db(), partition, PARTITIONS);

describe('an external processor meets an event it cannot read, stored by newer code', () => {
  it('records it on its partition, waits out the backoff, and its run goes on to the other partition', async () => {
    const store = createEventStore(db());
    const held = await streamIn(0);
    const healthy = await streamIn(1);
    const unreadable = await store.appendToStream<AccountEvent>({
      streamId: held,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), { type: 'MoneyDeposited', data: { amount: 7 }, schemaVersion: 2 }],
    });
    const readable = await store.appendToStream({ streamId: healthy, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    const handled: string[] = [];
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'external_newer_events',
      partitions: PARTITIONS,
      batchSize: 10,
      // This code knows MoneyDeposited at version 1 only. This file's database holds only these two streams.
      source: eventFeedSource({ upcaster: defineUpcasters([]) }),
      failurePolicy: { maxAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler: {
        mode: 'external',
        handle: (items) => {
          handled.push(...items.map((item) => item.eventId));
          return Promise.resolve({ done: items.length });
        },
      },
    };
    // One partition at a time: the held partition is taken first, and must not hold the other back.
    const runOnce = () => runFeedProcessor(processor, { db: db(), holder: 'exporter', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 1 });

    const run = await runOnce();

    expect(run.partitions.sort()).toEqual([0, 1]);
    expect(run.failures.map((failure) => failure.error.itemId)).toEqual([unreadable.events[1]?.eventId]);
    // The held partition's page left nothing handled; the other partition's went out.
    expect(handled).toEqual(readable.events.map((event) => event.eventId));
    const [heldPartition] = await getProcessorStatus(db(), processor);
    expect(heldPartition).toMatchObject({ state: 'running', attempts: 1, failedItemId: unreadable.events[1]?.eventId });
    expect(heldPartition?.lastError).toMatch(/schema version 2/);
    expect(heldPartition?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now());

    // Within the wait, the next run leaves the partition alone.
    const within = await runOnce();
    expect(within.failures).toEqual([]);
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ attempts: 1 });
  });
});

/** The pool, except that giving a lease back on its own fails, as when the connection drops after the batch. */
const releasesLost = (inner: Db): Db => ({
  query: (text, values, options) => (text.includes('SET holder = NULL') ? Promise.reject(new Error('connection lost')) : inner.query(text, values, options)),
  transaction: (work) => inner.transaction(work),
  close: () => inner.close(),
});

describe('an external processor that counted an event it cannot read', () => {
  it('gave its lease back with the count: a release lost after the run makes no second count, as a dead holder', async () => {
    // A stream type of its own: this processor reads nothing the other spec wrote.
    const { events } = await createEventStore(db()).appendToStream<AccountEvent>({
      streamId: uniqueStreamId(),
      streamType: 'released_account',
      expectedVersion: 'no_stream',
      events: [{ type: 'MoneyDeposited', data: { amount: 7 }, schemaVersion: 2 }],
    });
    await untilFeedHorizonPasses(db());
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'external_newer_event_released',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: defineUpcasters([]), streamTypes: ['released_account'] }),
      failurePolicy: { maxAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler: { mode: 'external', handle: (items) => Promise.resolve({ done: items.length }) },
    };
    const runWith = (on: Db, holder: string) => runFeedProcessor(processor, { db: on, holder, leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 1 });

    expect((await runWith(releasesLost(db()), 'first')).failures).toHaveLength(1);
    await expireLeases(db(), processor.name);
    const next = await runWith(db(), 'next');

    expect(next.failures).toEqual([]);
    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 1, failedItemId: events[0]?.eventId });
    expect(partition?.lastError).toMatch(/schema version 2/);
  });
});
