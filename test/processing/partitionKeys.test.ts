import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);
const PARTITIONS = 4;

// What a key function may give for one event, by mistake, at run time.
const badKeys = [
  { name: 'throws', key: (): string => { throw new Error('no correlation id'); }, error: /no correlation id/ },
  { name: 'returns a number (read from the event’s data)', key: () => 42 as unknown as string, error: /must be a string or null, not number/ },
  { name: 'returns an array', key: () => ['x'] as unknown as string, error: /must be a string or null, not an array/ },
  // A field the event's data lacks: only null leaves an event out.
  { name: 'returns undefined (a field the event’s data lacks)', key: () => undefined as unknown as string, error: /must be a string or null, not undefined/ },
] as const;

describe('a processor split by a key of its own', () => {
  it.each(badKeys)('given a key function that $name for one event, every partition fails that batch under the failure policy, naming the event', async ({ name, key, error }) => {
    const { events } = await createEventStore(db()).appendToStream({
      streamId: uniqueStreamId(),
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), deposited(5)],
    });
    await untilFeedHorizonPasses(db());
    const [first, bad] = events.map((event) => event.eventId);
    const handled: string[] = [];
    const processor: FeedProcessor<RecordedEvent> = {
      name: `bad_key_${badKeys.findIndex((badKey) => badKey.name === name)}`,
      partitions: PARTITIONS,
      batchSize: 10,
      source: eventFeedSource({
        upcaster: NO_UPCASTING,
        partitionKey: (event) => (event.eventId === bad ? key() : event.eventId === first ? event.streamId : null),
      }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler: { mode: 'transactional', handle: (items) => Promise.resolve(void handled.push(...items.map((item) => item.eventId))) },
    };

    const run = await runFeedProcessor(processor, { db: db(), holder: 'keyed', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: PARTITIONS });

    // Every partition reads every event to find its own keys, so each meets the bad one.
    expect(run.failures.map((failure) => failure.error.itemId)).toEqual(Array(PARTITIONS).fill(bad));
    expect(handled).toEqual([]);
    const partitions = await getProcessorStatus(db(), processor);
    expect(partitions.map((partition) => [partition.attempts, partition.failedItemId])).toEqual(Array(PARTITIONS).fill([1, bad]));
    expect(partitions[0]?.lastError).toMatch(error);
  });
});
