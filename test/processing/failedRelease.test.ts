import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);
const LEASE_TTL_MS = 500;

/** The database, but the first statement giving a lease back fails, as one on a connection lost between batches does. */
function losingOneRelease(db: Db): Db {
  let lost = false;
  return {
    ...db,
    query: (text, params, options) => {
      if (!lost && text.includes('SET holder = NULL')) {
        lost = true;
        return Promise.reject(new Error('Connection terminated unexpectedly'));
      }
      return db.query(text, params, options);
    },
  };
}

describe('a drained partition whose lease the first try fails to give back', () => {
  it('is given back by a second try: the next run finds it free, not a holder that died, and counts no failure', async () => {
    const db = testDatabase();
    await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'failed_release',
      partitions: 1,
      batchSize: 100,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler: { mode: 'transactional', handle: () => Promise.resolve() },
    };
    const runWith = (runDb: Db, holder: string) => runFeedProcessor(processor, { db: runDb, holder, leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 10_000, concurrency: 1 });

    const first = await runWith(losingOneRelease(db), 'first');
    expect(first).toMatchObject({ caughtUp: true, failures: [] });
    // Past the lease's time: a lease left held would now be taken over as a dead holder's.
    await sleep(LEASE_TTL_MS * 2);
    const second = await runWith(db, 'second');

    expect(second).toMatchObject({ caughtUp: true, failures: [] });
    const [status] = await getProcessorStatus(db, processor);
    expect(status).toMatchObject({ state: 'running', attempts: 0, lastError: null });
  });
});
