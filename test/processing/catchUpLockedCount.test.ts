import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { catchUpLocked, getProcessorStatus, ProcessorDefinitionError, runFeedProcessor, type FeedProcessor, type TransactionalHandler } from '../../core/processing';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(3);

describe('catching a partition up inside a transaction of its own (catchUpLocked)', () => {
  it('refuses a processor split into another count of partitions than it was registered with, handling nothing and moving no checkpoint', async () => {
    const handled: string[] = [];
    const handler: TransactionalHandler<RecordedEvent, void> = {
      mode: 'transactional',
      handle: (items) => {
        handled.push(...items.map((event) => event.eventId));
        return Promise.resolve();
      },
    };
    const split = (partitions: number, source: FeedProcessor<RecordedEvent>['source']): FeedProcessor<RecordedEvent, void> => ({
      name: 'caught_up_locked_split',
      partitions,
      batchSize: 100,
      source,
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler,
    });
    // Given events, and the processor registered with four partitions by a run that met its deadline at once.
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    await runFeedProcessor(split(4, source), { db: db(), holder: 'first', leaseTtlMs: 30_000, deadline: Date.now(), concurrency: 1 });
    const before = await getProcessorStatus(db(), split(4, source));

    // When code that splits it eight ways catches partition 1 up.
    const eightWays = split(8, source);
    const catchingUp = db().transaction((tx) => catchUpLocked(tx, eightWays, handler, 1, { maxBatches: 10, deadline: Date.now() + 10_000 }));

    // Then it is refused, naming both counts, and nothing is handled.
    await expect(catchingUp).rejects.toBeInstanceOf(ProcessorDefinitionError);
    await expect(catchingUp).rejects.toThrow('caught_up_locked_split was registered with 4 partitions, not 8');
    expect(handled).toEqual([]);
    expect((await getProcessorStatus(db(), split(4, source))).map((partition) => partition.checkpoint)).toEqual(before.map((partition) => partition.checkpoint));
  });

  it('refuses nothing for a processor whose count is not recorded yet (a row the publisher upgrade made), and finds no partition to run', async () => {
    await db().query('INSERT INTO feed_processors (name) VALUES ($1)', ['caught_up_locked_unsplit']);
    const { source } = await newStreamSource(db(), [opened()]);
    const unsplit: FeedProcessor<RecordedEvent, void> = {
      name: 'caught_up_locked_unsplit',
      partitions: 1,
      batchSize: 100,
      source,
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: { mode: 'transactional', handle: () => Promise.resolve() },
    };

    const applied = await db().transaction((tx) => catchUpLocked(tx, unsplit, unsplit.handler as TransactionalHandler<RecordedEvent, void>, 0, { maxBatches: 1, deadline: Date.now() + 10_000 }));

    expect(applied).toEqual({ caughtUp: false, items: 0, batches: 0 });
  });
});
