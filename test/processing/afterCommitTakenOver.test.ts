import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
let shared: Db;
beforeAll(async () => {
  database = await createTestDatabase();
  shared = createPgDb({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await shared.close();
  await database.drop();
});

const LEASE_TTL_MS = 900;
// Far past the lease: another instance takes the partition over while it runs, on a loaded runner too.
const AFTER_COMMIT_S = 3;

describe('a run whose afterCommit holds its pool of one past the lease', () => {
  it('given another instance taking the partition over meanwhile, says it lost the lease, though its batch reached the head', async () => {
    await createEventStore(shared).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(shared);
    // Its one connection is held by afterCommit's transaction: every renewal waits behind it.
    const holderDb = createPgDb({ connectionString: database.url, max: 1 });
    const afterCommitStarted = deferred();
    const processor: FeedProcessor<RecordedEvent, number> = {
      name: 'pool_of_one_after_commit',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      handler: {
        mode: 'transactional',
        handle: (batch) => Promise.resolve(batch.length),
        afterCommit: async () => {
          afterCommitStarted.resolve();
          await holderDb.transaction((tx) => tx.query(`SELECT pg_sleep(${AFTER_COMMIT_S})`));
        },
      },
    };
    try {
      const holder = runFeedProcessor(processor, { db: holderDb, holder: 'holder', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 15_000, concurrency: 1 });
      await afterCommitStarted.promise;
      await sleep(LEASE_TTL_MS + 300);
      const other = await runFeedProcessor(processor, { db: shared, holder: 'other', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 3_000, concurrency: 1 });
      const held = await holder;

      expect(other.failures.map((failure) => failure.error.name)).toEqual(['LeaseRanOutError']);
      expect({ caughtUp: held.caughtUp, leaseLost: held.leaseLost }).toEqual({ caughtUp: true, leaseLost: [0] });
    } finally {
      await holderDb.close();
    }
  });
});
