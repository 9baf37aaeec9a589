import { describe, expect, it } from 'vitest';
import { createEventStore, FEED_SCAN_BOUND, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

describe('a processor filtered to a rare event type, behind more events of other types than one page walks', () => {
  it('shows it behind by the age of what it has still to read, goes on through the pages that found nothing in one run, and handles the rare event once', async () => {
    const db = testDatabase();
    // More events of other types than a lag count walks (five page windows), recorded an hour ago,
    // as a feed holds them when a new processor starts at its beginning.
    await db.query(
      `INSERT INTO events (stream_id, stream_type, version, event_id, type, data, recorded_at)
       SELECT 'other-' || g, 'other', 1, gen_random_uuid(), 'Other', '{}', now() - interval '1 hour' FROM generate_series(1, $1::integer) AS g`,
      [FEED_SCAN_BOUND * 5.5],
    );
    await createEventStore(db).appendToStream({ streamId: 'rare-1', streamType: 'rare', expectedVersion: 'no_stream', events: [{ type: 'RareThing', data: {} }] });
    await untilFeedHorizonPasses(db);
    const handled: string[] = [];
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'rare_things',
      partitions: 1,
      batchSize: 100,
      source: eventFeedSource({ upcaster: NO_UPCASTING, eventTypes: ['RareThing'] }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: {
        mode: 'transactional',
        handle: (events) => {
          handled.push(...events.map((event) => event.streamId));
          return Promise.resolve(undefined);
        },
      },
    };

    await runFeedProcessor(processor, { db, holder: 'one', leaseTtlMs: 30_000, deadline: Date.now(), concurrency: 1 });
    const [waiting] = await getProcessorStatus(db, processor);
    // The count stops at its bound, short of the rare event: capped, never taken for caught up,
    // and as far behind as the first event it has still to read.
    expect(waiting).toMatchObject({ caughtUp: false, lagItems: 0, lagCapped: true, itemsProcessed: 0 });
    expect(waiting?.lagSeconds).toBeGreaterThanOrEqual(3_600);
    expect(waiting?.lagSeconds).toBeLessThan(3_600 + 120);

    const run = await runFeedProcessor(processor, { db, holder: 'one', leaseTtlMs: 30_000, deadline: Date.now() + 30_000, concurrency: 1 });

    expect(handled).toEqual(['rare-1']);
    expect({ items: run.items, caughtUp: run.caughtUp }).toEqual({ items: 1, caughtUp: true });
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ caughtUp: true, lagItems: 0, lagCapped: false, lagSeconds: 0, itemsProcessed: 1, attempts: 0 });
  });
});
