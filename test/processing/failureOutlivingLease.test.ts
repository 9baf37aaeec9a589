import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
// Instance A has a pool of one, as a Lambda's small pool; instance B is another Lambda.
let dbA: Db;
let dbB: Db;
beforeAll(async () => {
  database = await createTestDatabase();
  dbA = createPgDb({ connectionString: database.url, max: 1 });
  dbB = createPgDb({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await dbA.close();
  await dbB.close();
  await database.drop();
});

const LEASE_TTL_MS = 1_000;
const SLOW_BATCH_MS = 1_800;
const patientPolicy = { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 };

describe('a transactional batch that fails after outliving its lease', () => {
  it('has its failure counted, and no second instance runs the batch before the backoff ends', async () => {
    const store = createEventStore(dbB);
    const streamId = uniqueStreamId();
    const { events } = await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5)] });
    await untilFeedHorizonPasses(dbB);
    const wanted = new Set(events.map((event) => event.eventId));
    const source = eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (wanted.has(event.eventId) ? event.streamId : null) });

    let runsOnB = 0;
    let batchStartedOnA: () => void = () => undefined;
    const aInItsBatch = new Promise<void>((resolve) => {
      batchStartedOnA = resolve;
    });
    const processorOn = (handle: FeedProcessor<RecordedEvent>['handler']): FeedProcessor<RecordedEvent> => ({
      name: 'failure_window',
      partitions: 1,
      batchSize: 10,
      source,
      failurePolicy: patientPolicy,
      handler: handle,
    });
    const onA = processorOn({
      mode: 'transactional',
      async handle(items) {
        batchStartedOnA();
        await sleep(SLOW_BATCH_MS);
        // Other work of the same instance queues for its one pooled connection (another partition's
        // drain, a saga step): it gets the connection when this batch rolls back, before the
        // transaction that records the failure.
        void dbA.query('SELECT pg_sleep(0.5)');
        throw new BatchItemError('downstream refused', items[0]?.eventId ?? null, new Error('refused'));
      },
    });
    const onB = processorOn({
      mode: 'transactional',
      handle(items) {
        runsOnB += 1;
        return Promise.reject(new BatchItemError('downstream refused', items[0]?.eventId ?? null, new Error('refused on B')));
      },
    });

    const runA = runFeedProcessor(onA, { db: dbA, holder: 'A', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 10_000, concurrency: 1 });
    // B polls like a nudged invocation would, every few milliseconds, until A's run ends.
    const a = { done: false };
    const polling = (async () => {
      // A holds the lease first, and is in its batch.
      await aInItsBatch;
      while (!a.done) {
        await runFeedProcessor(onB, { db: dbB, holder: `B`, leaseTtlMs: 60_000, deadline: Date.now() + 5_000, concurrency: 1 });
        await sleep(5);
      }
    })();
    const resultA = await runA;
    a.done = true;
    await polling;

    // A's batch held acquirers off all along: its failure is recorded and the partition waits
    // out the 60 s backoff. No other instance runs the batch meanwhile.
    expect(runsOnB, 'a second instance ran the failed batch at once, with no backoff').toBe(0);
    expect(resultA.failures, 'the stalled holder\'s failure was not counted').toHaveLength(1);
    const [partition] = await getProcessorStatus(dbB, onA);
    expect(partition?.state).toBe('running');
    expect(partition?.lastError, 'A\'s failure, not B\'s').toBe('Error: refused');
    expect(partition?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now() + 30_000);
  });
});
