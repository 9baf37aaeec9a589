import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor, type HandlerFailure } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

const testDatabase = usePooledTestDatabase(4);

const PARTITIONS = 2;

describe('the failures a run counted', () => {
  it('given one partition’s handler failure and another partition’s error that ends the run, the failure is still told to the caller', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const [poisoned, broken] = [await streamIdInPartition(db, 0, PARTITIONS), await streamIdInPartition(db, 1, PARTITIONS)];
    for (const streamId of [poisoned, broken]) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'failing_apart',
      partitions: PARTITIONS,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      handler: {
        mode: 'transactional',
        handle: (events, { partition }) =>
          Promise.reject(
            partition === 0
              ? new BatchItemError('the event breaks a rule of the read model', events[0]?.eventId ?? null, new Error('rule broken'))
              : new Error('the handler is broken for everything'),
          ),
      },
    };
    const told: HandlerFailure[] = [];

    const run = runFeedProcessor(processor, { db, holder: 'reporting', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: PARTITIONS, onFailure: (failure) => told.push(failure) });

    await expect(run).rejects.toThrow('the handler is broken for everything');
    const [counted] = (await getProcessorStatus(db, processor)).filter((partition) => partition.attempts > 0);
    expect(counted).toMatchObject({ partition: 0, attempts: 1 });
    expect(told).toEqual([expect.objectContaining({ processor: 'failing_apart', partition: 0, attempts: 1, state: 'running' })]);
    expect(told[0]?.error.message).toBe('the event breaks a rule of the read model');
  });
});
