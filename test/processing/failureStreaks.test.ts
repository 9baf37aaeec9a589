import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import {
  BatchItemError,
  eventFeedSource,
  getProcessorStatus,
  resumeProcessors,
  runFeedProcessor,
  UnknownProcessorError,
  type BatchRetry,
  type FeedProcessor,
} from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

const policy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 };

describe('a partition’s failures are counted one kind at a time', () => {
  it('given failures that pass by themselves past the policy’s attempts, a handler’s own failure then starts the count afresh', async () => {
    const db = testDatabase();
    const { events } = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    let failing: BatchRetry = 'until_it_passes';
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'mixed_failures',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: policy,
      handler: {
        mode: 'transactional',
        handle: (batch) => Promise.reject(new BatchItemError(`failing: ${failing}`, batch[0]?.eventId ?? null, new Error(failing), failing)),
      },
    };
    const runOnce = async () => {
      await sleep(policy.maxDelayMs + 30);
      await runFeedProcessor(processor, { db, holder: 'streaks', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
      const [partition] = await getProcessorStatus(db, processor);
      return partition;
    };

    // A deploy rolling out: the event cannot be read yet, well past the policy's three attempts.
    for (let attempt = 1; attempt <= policy.maxAttempts + 2; attempt++) await runOnce();
    expect(await runOnce()).toMatchObject({ state: 'running', attempts: policy.maxAttempts + 3, failedItemId: events[0]?.eventId });

    // The event is readable now, but the handler itself fails: its own three attempts, then the partition gives up.
    failing = 'failure_policy';
    expect(await runOnce()).toMatchObject({ state: 'running', attempts: 1 });
    expect(await runOnce()).toMatchObject({ state: 'running', attempts: 2 });
    const last = await runOnce();
    expect(last).toMatchObject({ state: 'failed', attempts: 3 });
    expect(last?.lastError).toContain('failure_policy');
  });
});

describe('resuming processors by name', () => {
  it('given a failed partition, a name never registered (a typo) is refused, naming it, and resumes nothing', async () => {
    const db = testDatabase();
    await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'saga:transfer',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { ...policy, maxAttempts: 1 },
      handler: { mode: 'transactional', handle: (batch) => Promise.reject(new BatchItemError('cannot handle it', batch[0]?.eventId ?? null, new Error('boom'))) },
    };
    await runFeedProcessor(processor, { db, holder: 'resume', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });

    const refusal = await resumeProcessors(db, ['saga:transfer', 'saga:transfers']).catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(UnknownProcessorError);
    expect(refusal).toMatchObject({ code: 'UNKNOWN_PROCESSOR', processors: ['saga:transfers'] });
    expect((await getProcessorStatus(db, processor))[0]).toMatchObject({ state: 'failed' });
    expect(await resumeProcessors(db, ['saga:transfer'])).toEqual([{ processor: 'saga:transfer', partition: 0 }]);
  });
});
