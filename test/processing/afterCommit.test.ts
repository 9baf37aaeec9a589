import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

describe('work after a batch’s commit', () => {
  it('given an afterCommit that fails on an item, the committed batch stays applied and its partition is not counted as failing; the run says why', async () => {
    const db = testDatabase();
    const { events } = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const applied: string[] = [];
    const processor: FeedProcessor<RecordedEvent, readonly string[]> = {
      name: 'failing_after_commit',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20 },
      handler: {
        mode: 'transactional',
        handle: (batch) => Promise.resolve(batch.map((event) => event.eventId)),
        afterCommit: (eventIds) => {
          applied.push(...eventIds);
          return Promise.reject(new BatchItemError('dispatch failed', eventIds[0] ?? null, new Error('NATS down'), 'failure_policy'));
        },
      },
    };

    const run = runFeedProcessor(processor, { db, holder: 'after-commit', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
    await expect(run).rejects.toThrow(/dispatch failed/);

    expect(applied).toEqual([events[0]?.eventId]);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 0, lastError: null, lagItems: 0 });
  });
});
