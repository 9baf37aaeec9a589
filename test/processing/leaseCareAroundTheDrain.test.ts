import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import {
  acquirePartitionLease,
  ensurePartitionLeaseRows,
  eventFeedSource,
  getProcessorStatus,
  registerProcessor,
  runFeedProcessor,
  type FeedProcessor,
  type ProcessorRun,
  type TransactionalHandler,
} from '../../core/processing';
import { expireLeases } from '../support/expireLeases';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { openedThenDeposits, sleep } from '../support/fixtures';
import { streamIdInPartition } from '../support/streamInPartition';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
// One connection for the run's six drains: each statement of one waits for the others' batches.
let solo: Db;
// Another instance's pool.
let other: Db;
beforeAll(async () => {
  database = await createTestDatabase();
  solo = createPgDb({ connectionString: database.url, max: 1 });
  other = createPgDb({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await solo.close();
  await other.close();
  await database.drop();
});

// Six, with 500 ms batches: a drain's statement queued behind the other five waits 2.5 s, past the
// 2 s lease, while a sibling commits every half second or so, well within the half lease at which it renews.
const PARTITIONS = 6;
const TTL_MS = 2_000;

/** Appends `counts[p]` events to a stream of partition p, of the spec's own stream type `name`. */
async function appendPerPartition(name: string, counts: readonly number[]): Promise<void> {
  const store = createEventStore(solo);
  for (const [partition, count] of counts.entries()) {
    const events = openedThenDeposits(count);
    await store.appendToStream({ streamId: await streamIdInPartition(solo, partition, PARTITIONS), streamType: name, expectedVersion: 'no_stream', events });
  }
  await untilFeedHorizonPasses(solo);
}

const processorOfType = (name: string, handler: TransactionalHandler<RecordedEvent, number>): FeedProcessor<RecordedEvent, number> => ({
  name,
  partitions: PARTITIONS,
  batchSize: 1,
  source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [name] }),
  failurePolicy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 10 },
  handler,
});

const SIBLING_BATCH_MS = 500;

/** Partition 0's batches are quick; the others' each hold the one connection for SIBLING_BATCH_MS. */
const slowBesidePartitionZero = (name: string) =>
  processorOfType(name, {
    mode: 'transactional',
    handle: async (_items, { partition }) => {
      if (partition !== 0) await sleep(SIBLING_BATCH_MS);
      return partition;
    },
  });

/**
 * Runs `processor` on the one connection, every partition at once, while another instance, once the
 * run has leased every partition, runs again and again until it ends, as nudged invocations would.
 */
async function runBesideAnotherInstance(processor: FeedProcessor<RecordedEvent, number>) {
  const run = runFeedProcessor(processor, { db: solo, holder: 'solo', leaseTtlMs: TTL_MS, deadline: Date.now() + 60_000, concurrency: PARTITIONS });
  const ended = run.then(
    () => true,
    () => true,
  );
  const leasedEvery = async () => {
    const { rows } = await other.query<{ count: string }>("SELECT count(*) FROM partition_leases WHERE lease_group = $1 AND holder = 'solo'", [processor.name]);
    return Number(rows[0]?.count) === PARTITIONS;
  };
  while (!(await leasedEvery()) && !(await Promise.race([ended, sleep(20).then(() => false)])));
  const otherRuns: ProcessorRun[] = [];
  while (!(await Promise.race([ended, sleep(150).then(() => false)]))) {
    otherRuns.push(await runFeedProcessor(processor, { db: other, holder: 'other', leaseTtlMs: TTL_MS, deadline: Date.now() + 300, concurrency: 1 }));
  }
  const soloRun = await run;
  const processed = (await getProcessorStatus(other, processor)).map((partition) => partition.itemsProcessed);
  return {
    soloLost: soloRun.leaseLost,
    soloFailures: soloRun.failures.map((failure) => `${failure.partition}: ${failure.error.message}`),
    otherFailures: otherRuns.flatMap((otherRun) => otherRun.failures.map((failure) => `${failure.partition}: ${failure.error.message}`)),
    processed,
  };
}

describe('a live run with more partitions drained at once than pooled connections, beside another instance', () => {
  it('keeps a drain\'s lease while its afterCommit works outside the database: its siblings\' commits renew it, as its own renewals queue behind their batches', async () => {
    const name = 'slow_after_commit';
    await appendPerPartition(name, [1, 6, 6, 6, 6, 6]);
    let waited = false;
    const processor = processorOfType(name, {
      mode: 'transactional',
      handle: async (_items, { partition }) => {
        if (partition !== 0) await sleep(SIBLING_BATCH_MS);
        return partition;
      },
      // A call elsewhere, longer than the lease, that needs no connection.
      afterCommit: async (partition) => {
        if (partition !== 0 || waited) return;
        waited = true;
        await sleep(4 * TTL_MS);
      },
    });

    const seen = await runBesideAnotherInstance(processor);

    expect(seen).toEqual({ soloLost: [], soloFailures: [], otherFailures: [], processed: [1, 6, 6, 6, 6, 6] });
  }, 60_000);

  it('keeps a partition it took over from a dead holder while its count of that holder waits for the connection: the dead holder\'s loss is counted, not the live run\'s', async () => {
    const name = 'counting_the_dead';
    await appendPerPartition(name, [1, 6, 6, 6, 6, 6]);
    await registerProcessor(solo, name, PARTITIONS);
    await ensurePartitionLeaseRows(solo, name, PARTITIONS);
    expect(await acquirePartitionLease(solo, { group: name, partitions: PARTITIONS, holder: 'dead', ttlMs: 60_000, only: 0 })).not.toBeNull();
    await expireLeases(solo, name);
    const processor = slowBesidePartitionZero(name);

    const seen = await runBesideAnotherInstance(processor);

    expect(seen).toEqual({ soloLost: [], soloFailures: [expect.stringMatching(/^0: the lease of dead ran out/)], otherFailures: [], processed: [1, 6, 6, 6, 6, 6] });
  }, 60_000);

  it('keeps a partition it drained to the head while its release waits for the connection: it is given back, not found run out', async () => {
    const name = 'release_queued';
    await appendPerPartition(name, [1, 6, 6, 6, 6, 6]);
    const processor = slowBesidePartitionZero(name);

    const seen = await runBesideAnotherInstance(processor);

    expect(seen).toEqual({ soloLost: [], soloFailures: [], otherFailures: [], processed: [1, 6, 6, 6, 6, 6] });
  }, 60_000);
});
