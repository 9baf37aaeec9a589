import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor, type HandlerFailure } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

// One connection for three partitions' drains: each batch waits for the others'.
const db = usePooledTestDatabase(1);

const PARTITIONS = 3;

describe('a run with more partitions drained at once than pooled connections', () => {
  it('drains every partition to the head: a batch that waited for a connection past its lease, no one taking the partition over, is still its holder\'s', async () => {
    const store = createEventStore(db());
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const streamId = await streamIdInPartition(db(), partition, PARTITIONS);
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    }
    await untilFeedHorizonPasses(db());
    // Batches of one event, each 400 ms: a drain waits two others' batches, 800 ms, past half its 1 s lease.
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'queued_for_the_pool',
      partitions: PARTITIONS,
      batchSize: 1,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: { mode: 'transactional', handle: () => sleep(400) },
    };
    const failures: HandlerFailure[] = [];

    const run = await runFeedProcessor(processor, { db: db(), holder: 'solo', leaseTtlMs: 1_000, deadline: Date.now() + 30_000, concurrency: PARTITIONS, onFailure: (failure) => failures.push(failure) });

    const status = await getProcessorStatus(db(), processor);
    expect({ caughtUp: run.caughtUp, items: run.items, failures }).toEqual({ caughtUp: true, items: 3 * PARTITIONS, failures: [] });
    expect(status.map((partition) => ({ lag: partition.lagItems, processed: partition.itemsProcessed, attempts: partition.attempts }))).toEqual(
      Array.from({ length: PARTITIONS }, () => ({ lag: 0, processed: 3, attempts: 0 })),
    );
  });
});
