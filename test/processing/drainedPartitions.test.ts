import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, listPartitionLeases, partitionOfKey, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(8);

const PARTITIONS = 2;

/** A stream whose events fall in the given partition. */
function streamIn(partition: number): string {
  for (;;) {
    const streamId = uniqueStreamId();
    if (partitionOfKey(streamId, PARTITIONS) === partition) return streamId;
  }
}

describe('a run’s drained partitions', () => {
  it('are given back while another partition of the run is still at work, for another instance to take and keep up', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const [stuck, free] = [streamIn(0), streamIn(1)];
    for (const streamId of [stuck, free]) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const unblock = deferred();
    // A run that gives a drained partition back looks once for work past it, to take it back
    // (the one-item read below): new events before that look are still the first run's.
    const lookedPastGivenBack = deferred();
    const source = eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => event.streamId });
    const processor = (seen: string[]): FeedProcessor<RecordedEvent> => ({
      name: 'giving_back',
      partitions: PARTITIONS,
      batchSize: 10,
      source: {
        ...source,
        read: async (db, request) => {
          const page = await source.read(db, request);
          if (request.limit === 1) lookedPastGivenBack.resolve();
          return page;
        },
      },
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      handler: {
        mode: 'external',
        handle: async (events, { partition }) => {
          // Partition 0's first batch takes its time, as a key NATS keeps refusing does.
          if (partition === 0) await unblock.promise;
          seen.push(...events.map((event) => event.streamId));
          return { done: events.length };
        },
      },
    });
    const seenByFirst: string[] = [];
    const first = runFeedProcessor(processor(seenByFirst), { db, holder: 'first', leaseTtlMs: 60_000, deadline: Date.now() + 30_000, concurrency: PARTITIONS });
    try {
      const freeHolder = async () => (await listPartitionLeases(db, 'giving_back')).find((lease) => lease.partition === 1)?.holder;
      for (let waited = 0; (!seenByFirst.includes(free) || (await freeHolder()) === 'first') && waited < 30_000; waited += 20) await sleep(20);
      expect(seenByFirst).toEqual([free]);
      await lookedPastGivenBack.promise;

      // Partition 1 is drained; its next events are for whoever runs next.
      await store.appendToStream({ streamId: free, streamType: 'account', expectedVersion: 1, events: [deposited(5)] });
      await untilFeedHorizonPasses(db);
      const seenBySecond: string[] = [];
      const second = await runFeedProcessor(processor(seenBySecond), { db, holder: 'second', leaseTtlMs: 60_000, deadline: Date.now() + 5_000, concurrency: PARTITIONS });

      expect(second.partitions).toEqual([1]);
      expect(seenBySecond).toEqual([free]);
      expect((await listPartitionLeases(db, 'giving_back')).find((lease) => lease.partition === 0)?.holder).toBe('first');
    } finally {
      unblock.resolve();
      await first;
    }
  });
});
