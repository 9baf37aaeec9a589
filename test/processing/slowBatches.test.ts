import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type EventStore, type RecordedEvent } from '../../core/eventstore';
import {
  acquirePartitionLease,
  BatchItemError,
  eventFeedSource,
  getProcessorStatus,
  releasePartitionLease,
  runFeedProcessor,
  type ExternalHandler,
  type FeedProcessor,
  type PartitionLease,
} from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
let db: Db;
let store: EventStore;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPgDb({ connectionString: database.url, max: 6 });
  store = createEventStore(db);
});

afterAll(async () => {
  await db.close();
  await database.drop();
});

// A lease of one second, and batches that take well past it: margins that hold on a loaded two-core runner.
const LEASE_TTL_MS = 1_000;
const SLOW_BATCH_MS = 2_000;
// A backoff no run in these specs outlasts: a second try within a run would be a retry without one.
const patientPolicy = { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 };

let processors = 0;

async function appendOneStream(): Promise<RecordedEvent['eventId'][]> {
  const streamId = uniqueStreamId();
  const result = await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5), deposited(7)] });
  // Each spec runs its processor once: its events must be readable by then.
  await untilFeedHorizonPasses(db);
  return result.events.map((event) => event.eventId);
}

/** Reads only this spec's stream, so other specs' events in the feed are not its business. */
function sourceOf(eventIds: readonly string[]) {
  const wanted = new Set(eventIds);
  return eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (wanted.has(event.eventId) ? event.streamId : null) });
}

/** One partition over this spec's stream, with the handler under test. */
const processorOf = (name: string, eventIds: readonly string[], handler: FeedProcessor<RecordedEvent>['handler']): FeedProcessor<RecordedEvent> => ({
  name,
  partitions: 1,
  batchSize: 10,
  source: sourceOf(eventIds),
  failurePolicy: patientPolicy,
  handler,
});

const run = (processor: FeedProcessor<RecordedEvent>, holder: string) =>
  runFeedProcessor(processor, { db, holder, leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 3 * SLOW_BATCH_MS, concurrency: 1 });

describe('a batch that runs past its lease’s time', () => {
  it('given a transactional handler that fails after outliving its lease, counts the failure once and waits out the backoff', async () => {
    const eventIds = await appendOneStream();
    let attempts = 0;
    const processor = processorOf(`slow_failing_${++processors}`, eventIds, {
      mode: 'transactional',
      async handle(events) {
        attempts += 1;
        await sleep(SLOW_BATCH_MS);
        throw new BatchItemError('the downstream table is locked', events[0]?.eventId ?? null, new Error('lock timeout'));
      },
    });

    const result = await run(processor, 'slow');

    expect(attempts).toBe(1);
    expect(result.failures).toHaveLength(1);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 1, failedItemId: eventIds[0], itemsProcessed: 0 });
    expect(partition?.lastError).toContain('lock timeout');
    expect(partition?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now() + 30_000);
  });

  it('given an external handler that outlives its lease and no one took the partition, keeps its checkpoint and does not repeat the batch', async () => {
    const eventIds = await appendOneStream();
    const handled: string[] = [];
    const processor = processorOf(`slow_publishing_${++processors}`, eventIds, {
      mode: 'external',
      async handle(events) {
        await sleep(SLOW_BATCH_MS);
        handled.push(...events.map((event) => event.eventId));
        return { done: events.length };
      },
    });

    const result = await run(processor, 'slow');

    expect(handled).toEqual(eventIds);
    expect(result.items).toBe(eventIds.length);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ itemsProcessed: eventIds.length, lagItems: 0, attempts: 0 });
  });

  it('given an external handler whose partition another holder took over meanwhile, stores nothing of the stalled batch, and the successor repeats it', async () => {
    const eventIds = await appendOneStream();
    const name = `taken_over_${++processors}`;
    const takenOver: { by?: PartitionLease | null } = {};
    const processorWith = (handle: ExternalHandler<RecordedEvent>['handle']) => processorOf(name, eventIds, { mode: 'external', handle });
    const stalled = processorWith(async (events) => {
      await sleep(SLOW_BATCH_MS);
      // Its lease ran out a while ago: another holder takes the partition before the stalled batch ends.
      takenOver.by = await acquirePartitionLease(db, { group: name, partitions: 1, holder: 'successor', ttlMs: 60_000 });
      return { done: events.length };
    });

    const stalledRun = await run(stalled, 'stalled');

    expect(takenOver.by).toMatchObject({ holder: 'successor' });
    expect(stalledRun.items).toBe(0);
    expect((await getProcessorStatus(db, stalled))[0]).toMatchObject({ itemsProcessed: 0 });

    if (takenOver.by) await releasePartitionLease(db, takenOver.by);
    const handled: string[] = [];
    await run(processorWith((events) => {
      handled.push(...events.map((event) => event.eventId));
      return Promise.resolve({ done: events.length });
    }), 'successor');
    expect(handled).toEqual(eventIds);
  });
});

describe('a slow transactional batch', () => {
  it('that succeeds has its status dated when its checkpoint is stored, not when the batch began', async () => {
    const eventIds = await appendOneStream();
    let handledAt = Number.POSITIVE_INFINITY;
    const processor = processorOf(`slow_success_${++processors}`, eventIds, {
      mode: 'transactional',
      async handle() {
        await sleep(SLOW_BATCH_MS);
        handledAt = Date.now();
      },
    });

    await runFeedProcessor(processor, { db, holder: 'slow', leaseTtlMs: 60_000, deadline: Date.now() + 3 * SLOW_BATCH_MS, concurrency: 1 });

    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ itemsProcessed: 3, caughtUp: true });
    expect(partition?.updatedAt.getTime()).toBeGreaterThanOrEqual(handledAt);
  });


  it('that fails waits its whole backoff counted from the failure, not from when the batch began, and its status dates the failure', async () => {
    const eventIds = await appendOneStream();
    // A backoff shorter than the batch: counted from the batch's start, it would be over before the failure.
    const shortBackoff = { maxAttempts: 5, baseDelayMs: SLOW_BATCH_MS / 2, maxDelayMs: SLOW_BATCH_MS / 2 };
    let failedAt = Number.POSITIVE_INFINITY;
    const processor = {
      ...processorOf(`slow_backoff_${++processors}`, eventIds, {
        mode: 'transactional',
        async handle(events) {
          await sleep(SLOW_BATCH_MS);
          failedAt = Date.now();
          throw new BatchItemError('the downstream table is locked', events[0]?.eventId ?? null, new Error('lock timeout'));
        },
      }),
      failurePolicy: shortBackoff,
    };

    await runFeedProcessor(processor, { db, holder: 'slow', leaseTtlMs: 60_000, deadline: Date.now() + 3 * SLOW_BATCH_MS, concurrency: 1 });

    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 1 });
    expect(partition?.nextAttemptAt?.getTime()).toBeGreaterThanOrEqual(failedAt + shortBackoff.baseDelayMs);
    expect(partition?.updatedAt.getTime()).toBeGreaterThanOrEqual(failedAt);
  });
});
