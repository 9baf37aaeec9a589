import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

const testDatabase = usePooledTestDatabase(4);

const PARTITIONS = 4;

describe('partitions taken in turns', () => {
  it('given a backlog in partition 0 longer than a run and an event in each other partition, runs bound by their deadline reach every partition, not partition 0 alone', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const backlogged = await streamIdInPartition(db, 0, PARTITIONS);
    await store.appendToStream({ streamId: backlogged, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), ...Array.from({ length: 599 }, () => deposited(1))] });
    const others = [await streamIdInPartition(db, 1, PARTITIONS), await streamIdInPartition(db, 2, PARTITIONS), await streamIdInPartition(db, 3, PARTITIONS)];
    for (const streamId of others) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const handled = new Map<number, number>();
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'taking_turns',
      partitions: PARTITIONS,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      handler: {
        mode: 'external',
        handle: async (events, { partition }) => {
          // Slow enough that partition 0's 60 batches take many runs.
          await sleep(100);
          handled.set(partition, (handled.get(partition) ?? 0) + events.length);
          return { done: events.length };
        },
      },
    };

    for (let run = 1; run <= 4; run += 1) {
      await runFeedProcessor(processor, { db, holder: `run-${run}`, leaseTtlMs: 60_000, deadline: Date.now() + 1_000, concurrency: 1 });
    }

    expect([1, 2, 3].map((partition) => handled.get(partition))).toEqual([1, 1, 1]);
    expect(handled.get(0)).toBeLessThan(600);
  });
});
