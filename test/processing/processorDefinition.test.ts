import { describe, expect, it } from 'vitest';
import { NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, ProcessorDefinitionError, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);

describe('a processor’s definition', () => {
  it('is refused with a batch size that is not a whole number from 1 to a PostgreSQL integer’s maximum, before anything is registered or leased', async () => {
    for (const batchSize of [0, -5, 2.5, Number.NaN, 2 ** 31]) {
      const name = `bad_batch_${String(batchSize)}`;
      const processor: FeedProcessor<RecordedEvent> = {
        name,
        partitions: 1,
        batchSize,
        source: eventFeedSource({ upcaster: NO_UPCASTING }),
        failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
        handler: { mode: 'external', handle: (items) => Promise.resolve({ done: items.length }) },
      };

      const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1 });

      await expect(running, String(batchSize)).rejects.toThrow(ProcessorDefinitionError);
      await expect(running, String(batchSize)).rejects.toThrow('batchSize');
      const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1 UNION ALL SELECT 1 FROM partition_leases WHERE lease_group = $1', [name]);
      expect(rows, String(batchSize)).toEqual([]);
    }
  });

  it('is refused with a batch size larger than its source reads, the feed’s 10,000, before anything is registered', async () => {
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'feed_batch_too_large',
      partitions: 1,
      batchSize: 10_001,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      handler: { mode: 'transactional', handle: () => Promise.resolve() },
    };

    const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1 });

    await expect(running).rejects.toThrow(new ProcessorDefinitionError('feed_batch_too_large: batchSize must be an integer from 1 to 10000, not 10001'));
    const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1', ['feed_batch_too_large']);
    expect(rows).toEqual([]);
  });
});
