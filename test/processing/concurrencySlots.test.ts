import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, runFeedProcessor, type FeedProcessor } from '../../core/processing';
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
