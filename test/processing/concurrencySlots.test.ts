import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import {
  acquirePartitionLease,
  BatchItemError,
  eventFeedSource,
  getProcessorStatus,
  LeaseRanOutError,
  releasePartitionLease,
  runFeedProcessor,
  type FeedProcessor,
  type HandlerFailure,
} from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

const testDatabase = usePooledTestDatabase(6);

describe('a run draining 2 of 4 partitions at once', () => {
  it('given one slow partition, drains the other three in its other slot before the deadline', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const streams = await Promise.all([0, 1, 2, 3].map((partition) => streamIdInPartition(db, partition, 4)));
    for (const streamId of streams) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const handled: number[] = [];
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'two_slots',
      partitions: 4,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: {
        mode: 'transactional',
        handle: async (_events, { partition }) => {
          // Partition 0's batch outlasts the run's deadline; the others take no time.
          if (partition === 0) await sleep(3_000);
          handled.push(partition);
        },
      },
    };

    const run = await runFeedProcessor(processor, { db, holder: 'two-slots', leaseTtlMs: 30_000, deadline: Date.now() + 2_000, concurrency: 2 });

    expect(handled.toSorted()).toEqual([0, 1, 2, 3]);
    expect(run.partitions.toSorted()).toEqual([0, 1, 2, 3]);
    expect(run.items).toBe(4);
  });
});

describe('a run draining 2 partitions at once, one batch outlasting its lease and the deadline', () => {
  it('is not stopped by the deadline when the only partition its other slot found free was its own, still draining', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const streams = await Promise.all([0, 1].map((partition) => streamIdInPartition(db, partition, 2)));
    // A stream type of its own: the file's other specs' events are not this processor's.
    for (const streamId of streams) await store.appendToStream({ streamId, streamType: 'slow-account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'own_slot_past_its_lease',
      partitions: 2,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: ['slow-account'] }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: {
        mode: 'transactional',
        // Partition 0's batch outlasts its 1 s lease and the deadline; partition 1's ends past the deadline.
        handle: (_events, { partition }) => sleep(partition === 0 ? 4_000 : 2_000),
      },
    };

    const run = await runFeedProcessor(processor, { db, holder: 'own-slot', leaseTtlMs: 1_000, deadline: Date.now() + 1_500, concurrency: 2 });

    expect((await getProcessorStatus(db, processor)).map((partition) => partition.lagItems)).toEqual([0, 0]);
    expect(run).toMatchObject({ items: 2, caughtUp: true, stoppedByDeadline: false });
    expect(run.partitions.toSorted()).toEqual([0, 1]);
  });
});

describe('a run draining 2 of 3 partitions at once, one batch failing', () => {
  it('tries the failing batch once: another slot does not lease the partition its failure gave back', async () => {
    const pool = testDatabase();
    const store = createEventStore(pool);
    const [failing, ...others] = await Promise.all([0, 1, 2].map((partition) => streamIdInPartition(pool, partition, 3)));
    for (const streamId of [failing, ...others]) await store.appendToStream({ streamId: streamId ?? '', streamType: 'failing-account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(pool);
    // The answer to the failed batch's COMMIT reaches the process 300 ms after the server
    // committed, as over a slow network: the partition is free in the database meanwhile.
    let failedJustNow = false;
    const db: Db = {
      query: (text, params, options) => pool.query(text, params, options),
      close: () => pool.close(),
      transaction: async (work) => {
        const result = await pool.transaction(work);
        if (failedJustNow) {
          failedJustNow = false;
          await sleep(300);
        }
        return result;
      },
    };
    let failingBatchRuns = 0;
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'failed_partition_slots',
      partitions: 3,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: ['failing-account'] }),
      failurePolicy: { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 0 },
      handler: {
        mode: 'transactional',
        handle: async (events) => {
          const bad = events.find((event) => event.streamId === failing);
          if (bad) {
            failingBatchRuns += 1;
            failedJustNow = true;
            throw new BatchItemError('cannot handle it', bad.eventId, new Error('boom'));
          }
          await sleep(100);
        },
      },
    };

    const run = await runFeedProcessor(processor, { db, holder: 'two-slots', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 2 });

    const [failed] = await getProcessorStatus(pool, processor);
    expect({ partitions: run.partitions.toSorted(), failingBatchRuns, failures: run.failures.length, attempts: failed?.attempts }).toEqual({
      partitions: [0, 1, 2],
      failingBatchRuns: 1,
      failures: 1,
      attempts: 1,
    });
  });
});

describe('a run draining 2 of 4 partitions at once, two of them held by another instance for a moment', () => {
  it('drains the two given back in the slot that found nothing free, while partition 0 is slow', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const streams = await Promise.all([0, 1, 2, 3].map((partition) => streamIdInPartition(db, partition, 4)));
    for (const streamId of streams) await store.appendToStream({ streamId, streamType: 'given-back-account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const handled: number[] = [];
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'given_back_slots',
      partitions: 4,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: ['given-back-account'] }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: {
        mode: 'transactional',
        handle: async (_events, { partition }) => {
          if (partition === 0) await sleep(2_500);
          if (partition >= 2) await sleep(1_500);
          handled.push(partition);
        },
      },
    };
    // Another instance holds partitions 2 and 3, and gives them back half a second into the run.
    const other = { group: processor.name, partitions: 4, holder: 'other', ttlMs: 30_000 };
    const held = [await acquirePartitionLease(db, { ...other, exclude: [0, 1] }), await acquirePartitionLease(db, { ...other, exclude: [0, 1] })];
    expect(held.map((lease) => lease?.partition).toSorted()).toEqual([2, 3]);
    const givenBack = sleep(500).then(() => Promise.all(held.map((lease) => (lease ? releasePartitionLease(db, lease) : Promise.resolve()))));

    const run = await runFeedProcessor(processor, { db, holder: 'slots', leaseTtlMs: 30_000, deadline: Date.now() + 3_000, concurrency: 2 });
    await givenBack;

    expect({ handled: handled.toSorted(), partitions: run.partitions.toSorted(), stoppedByDeadline: run.stoppedByDeadline }).toEqual({
      handled: [0, 1, 2, 3],
      partitions: [0, 1, 2, 3],
      stoppedByDeadline: false,
    });
  });
});

describe('a run whose one slot fails while another slot takes a dead holder’s partition over', () => {
  it('counts the dead holder’s lost batch: the lease it took is drained, not given back without a word', async () => {
    const pool = testDatabase();
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'takeover_beside_a_failure',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: ['takeover-account'] }),
      failurePolicy: { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 0 },
      handler: { mode: 'transactional', handle: () => Promise.resolve() },
    };
    // A holder that died mid-batch: its lease runs out at once.
    const dead = await acquirePartitionLease(pool, { group: processor.name, partitions: 1, holder: 'dead', ttlMs: 1 });
    expect(dead?.partition).toBe(0);
    await sleep(50);
    // The run's first lease statement fails (a pooled connection lost); the other slot's is answered just after.
    let acquires = 0;
    let firstFailed: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => (firstFailed = resolve));
    const db: Db = {
      query: async (text, params, options) => {
        if (text.includes('ran_out_holder')) {
          acquires += 1;
          if (acquires === 1) {
            setTimeout(firstFailed, 0);
            throw new Error('connection lost');
          }
          await failed;
          await sleep(20);
        }
        return pool.query(text, params, options);
      },
      close: () => pool.close(),
      transaction: (work) => pool.transaction(work),
    };

    const told: HandlerFailure[] = [];
    const run = runFeedProcessor(processor, {
      db, holder: 'live', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 2, onFailure: (failure) => told.push(failure),
    });

    await expect(run).rejects.toThrow('connection lost');
    expect(acquires).toBe(2);
    expect(told.map((failure) => [failure.partition, failure.error instanceof LeaseRanOutError, String(failure.error)])).toEqual([[0, true, expect.stringContaining('dead')]]);
  });
});

describe('a run of 4 slots whose one partition is slow', () => {
  it('does not look for free partitions again and again while the slow batch goes on', async () => {
    const pool = testDatabase();
    const store = createEventStore(pool);
    const streams = await Promise.all([0, 1, 2, 3].map((partition) => streamIdInPartition(pool, partition, 4)));
    for (const streamId of streams) await store.appendToStream({ streamId, streamType: 'idle-slot-account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(pool);
    let leaseLooks = 0;
    const db: Db = {
      query: (text, params, options) => {
        if (text.includes('ran_out_holder')) leaseLooks += 1;
        return pool.query(text, params, options);
      },
      close: () => pool.close(),
      transaction: (work) => pool.transaction(work),
    };
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'idle_slots',
      partitions: 4,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: ['idle-slot-account'] }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: { mode: 'transactional', handle: (_events, { partition }) => sleep(partition === 0 ? 1_500 : 0) },
    };

    const run = await runFeedProcessor(processor, { db, holder: 'idle-slots', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 4 });

    expect(run).toMatchObject({ items: 4, caughtUp: true, stoppedByDeadline: false });
    // A look per lease and a few after each drain ends: not one after another for 1.5 s.
    expect(leaseLooks).toBeLessThan(40);
  });
});
