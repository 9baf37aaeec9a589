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
  type FeedSource,
  type HandlerFailure,
  type ProcessorRun,
  type TransactionalHandler,
} from '../../core/processing';
import { expireLeases } from '../support/expireLeases';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep } from '../support/fixtures';
import { streamIdInPartition } from '../support/streamInPartition';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
// One connection for a run's drains: each batch waits for the others'.
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
const db = () => solo;

const PARTITIONS = 3;

/** A processor of the spec's own stream type `name`, in batches of 10, with `handler`. */
const processorOfType = <Result>(name: string, partitions: number, handler: TransactionalHandler<RecordedEvent, Result>): FeedProcessor<RecordedEvent, Result> => ({
  name,
  partitions,
  batchSize: 10,
  source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [name] }),
  failurePolicy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 10 },
  handler,
});

/**
 * Given partition 1 of a two-partition processor left by a dead holder, and a run on the one connection
 * whose partition 0 batch takes `firstBatchMs` and whose partition 1 batch takes `lateBatchMs`: when
 * partition 1's batch has committed, another instance runs, as a nudged Lambda would. What that
 * instance counted, and whether partition 1's lease was still live and the run's then.
 */
async function lateDrainBesideAnotherInstance(name: string, timing: { ttlMs: number; firstBatchMs: number; lateBatchMs: number }) {
  const store = createEventStore(solo);
  // Stream types of the spec's own: the file's specs share one feed.
  for (const partition of [0, 1]) {
    await store.appendToStream({ streamId: await streamIdInPartition(solo, partition, 2), streamType: name, expectedVersion: 'no_stream', events: [opened()] });
  }
  await untilFeedHorizonPasses(solo);
  await registerProcessor(solo, name, 2);
  await ensurePartitionLeaseRows(solo, name, 2);
  expect(await acquirePartitionLease(solo, { group: name, partitions: 2, holder: 'dead', ttlMs: 60_000, only: 1 })).not.toBeNull();
  await expireLeases(solo, name);
  let lateBatchDone = false;
  let leaseAfterCommit: { holder: string | null; live: boolean } | undefined;
  let otherRun: ProcessorRun | undefined;
  const processor = processorOfType<number>(name, 2, {
    mode: 'transactional',
    handle: async (_items, { partition }) => {
      if (partition === 0) await sleep(timing.firstBatchMs);
      if (partition === 1 && !lateBatchDone) {
        lateBatchDone = true;
        await sleep(timing.lateBatchMs);
      }
      return partition;
    },
    afterCommit: async (partition) => {
      if (partition !== 1 || leaseAfterCommit) return;
      const { rows } = await other.query<{ holder: string | null; live: boolean }>(
        'SELECT holder, expires_at > clock_timestamp() AS live FROM partition_leases WHERE lease_group = $1 AND partition = 1',
        [name],
      );
      leaseAfterCommit = rows[0];
      otherRun = await runFeedProcessor(processor, { db: other, holder: 'other', leaseTtlMs: 60_000, deadline: Date.now() + 20_000, concurrency: 2 });
    },
  });
  const run = await runFeedProcessor(processor, { db: solo, holder: 'solo', leaseTtlMs: timing.ttlMs, deadline: Date.now() + 30_000, concurrency: 2 });
  return { items: run.items, leaseAfterCommit, otherFailures: otherRun?.failures.map((failure) => failure.error.message) };
}

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

  it('starts no transactional batch past the run\'s deadline but a drain\'s first: a later one that waited for the connection until after it reads and handles nothing', async () => {
    const name = 'queued_past_the_deadline';
    const partitions = 3;
    const store = createEventStore(db());
    for (let partition = 0; partition < partitions; partition++) {
      const streamId = await streamIdInPartition(db(), partition, partitions);
      await store.appendToStream({ streamId, streamType: name, expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    }
    await untilFeedHorizonPasses(db());
    const handled: { partition: number; at: number }[] = [];
    // Batches of one event and 500 ms on one connection: each drain's second batch, queued before the
    // 1.2 s deadline, would get the connection after it (partition 1's at about 2 s).
    const processor: FeedProcessor<RecordedEvent> = {
      ...processorOfType(name, partitions, {
        mode: 'transactional',
        handle: async (_items, { partition }) => {
          handled.push({ partition, at: Date.now() });
          await sleep(500);
        },
      }),
      batchSize: 1,
    };
    const deadline = Date.now() + 1_200;

    const run = await runFeedProcessor(processor, { db: db(), holder: 'solo', leaseTtlMs: 30_000, deadline, concurrency: partitions });

    // Each partition moved, and nothing but a drain's first batch started past the deadline.
    expect(new Set(handled.map((batch) => batch.partition))).toEqual(new Set([0, 1, 2]));
    const late = handled.filter((batch, index) => batch.at > deadline + 500 && handled.findIndex((other) => other.partition === batch.partition) !== index);
    expect(late).toEqual([]);
    expect(run.stoppedByDeadline).toBe(true);
    // What was not handled waits for the next run, which drains it all.
    const next = await runFeedProcessor(processor, { db: db(), holder: 'solo', leaseTtlMs: 30_000, deadline: Date.now() + 30_000, concurrency: partitions });
    expect(run.items + next.items).toBe(3 * partitions);
  });

  it('moves every partition in every run, the one leased last too, though its connection comes after the deadline each time', async () => {
    const name = 'leased_last_every_run';
    const partitions = 5;
    const store = createEventStore(db());
    for (let partition = 0; partition < partitions; partition++) {
      const streamId = await streamIdInPartition(db(), partition, partitions);
      await store.appendToStream({ streamId, streamType: name, expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    }
    await untilFeedHorizonPasses(db());
    const processor: FeedProcessor<RecordedEvent> = { ...processorOfType(name, partitions, { mode: 'transactional', handle: () => sleep(300) }), batchSize: 1 };
    const run = () => runFeedProcessor(processor, { db: db(), holder: 'solo', leaseTtlMs: 30_000, deadline: Date.now() + 1_000, concurrency: partitions });

    await run();
    await run();

    const status = await getProcessorStatus(db(), processor);
    expect(status.map((partition) => partition.itemsProcessed)).toEqual([2, 2, 2, 2, 2]);
  });

  it('moves a partition whose lease itself comes after the deadline, in every run alike: the lease\'s statement queued behind another user of the pool', async () => {
    const name = 'lease_past_the_deadline';
    await createEventStore(db()).appendToStream({ streamId: await streamIdInPartition(db(), 0, 1), streamType: name, expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await untilFeedHorizonPasses(db());
    const processor: FeedProcessor<RecordedEvent> = { ...processorOfType(name, 1, { mode: 'transactional', handle: () => Promise.resolve() }), batchSize: 1 };
    await registerProcessor(db(), name, 1);
    await ensurePartitionLeaseRows(db(), name, 1);
    for (const holder of ['first', 'second']) {
      const deadline = Date.now() + 200;
      const run = runFeedProcessor(processor, { db: db(), holder, leaseTtlMs: 30_000, deadline, concurrency: 1 });
      // Queued after the run's registration, before its lease: the lease's connection comes past the deadline.
      const otherUser = db().transaction(() => sleep(Math.max(0, deadline - Date.now()) + 150));
      await run;
      await otherUser;
    }

    const [status] = await getProcessorStatus(db(), processor);
    expect(status?.itemsProcessed).toBe(2);
  });

  it('starts no external batch past the run\'s deadline, a drain\'s first included: a page read that waited for a connection until after it is not handled, its handler\'s deadline gone already', async () => {
    const name = 'external_read_past_the_deadline';
    await createEventStore(db()).appendToStream({ streamId: await streamIdInPartition(db(), 0, 1), streamType: name, expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await untilFeedHorizonPasses(db());
    const deadline = Date.now() + 500;
    const feed = eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [name] });
    // As a pool whose connections are all busy until after the deadline would make each read.
    const slowToConnect: FeedSource<RecordedEvent> = {
      ...feed,
      read: async (on, request) => {
        await sleep(Math.max(0, deadline - Date.now()) + 50);
        return feed.read(on, request);
      },
    };
    let handled = 0;
    const processor: FeedProcessor<RecordedEvent> = {
      ...processorOfType(name, 1, { mode: 'transactional', handle: () => Promise.resolve() }),
      batchSize: 1,
      source: slowToConnect,
      handler: {
        mode: 'external',
        handle: (items) => {
          handled += items.length;
          return Promise.resolve({ done: items.length });
        },
      },
    };

    const run = await runFeedProcessor(processor, { db: db(), holder: 'solo', leaseTtlMs: 30_000, deadline, concurrency: 1 });

    expect({ handled, items: run.items, stoppedByDeadline: run.stoppedByDeadline }).toEqual({ handled: 0, items: 0, stoppedByDeadline: true });
    const next = await runFeedProcessor(processor, { ...{ db: db(), holder: 'solo', leaseTtlMs: 30_000, concurrency: 1 }, deadline: Date.now() + 5_000 });
    expect(next.items).toBeGreaterThan(0);
  });

  it('renews a lease that ran out while its drain waited, before its batch commits: another instance running then does not take the partition from its live holder, nor count it as dead', async () => {
    // Partition 0's batch holds the only connection past partition 1's whole lease.
    const seen = await lateDrainBesideAnotherInstance('waited_past_its_lease', { ttlMs: 2_000, firstBatchMs: 2_500, lateBatchMs: 0 });

    expect(seen).toEqual({ items: 2, leaseAfterCommit: { holder: 'solo', live: true }, otherFailures: [] });
  });

  it('renews a lease that runs out during a late drain\'s first batch, before the batch commits: its lease is judged from when it was asked for, not from when the drain began', async () => {
    // Partition 1's drain begins 3.2 s into its 4 s lease: its lock still finds time left, and its
    // 1.2 s batch is less than a third of a lease on a clock started with the drain.
    const seen = await lateDrainBesideAnotherInstance('lapsing_during_a_late_batch', { ttlMs: 4_000, firstBatchMs: 3_200, lateBatchMs: 1_200 });

    expect(seen).toEqual({ items: 2, leaseAfterCommit: { holder: 'solo', live: true }, otherFailures: [] });
  });

  it('given another instance running while six partitions\' drains share two connections, each waiting two others\' batches (past its whole lease), takes no partition from the live run, nor counts one as dead: committing batches renew the waiting drains\' leases', async () => {
    const name = 'queued_past_their_leases';
    const partitions = 6;
    const pair = createPgDb({ connectionString: database.url, max: 2 });
    try {
      const store = createEventStore(pair);
      for (let partition = 0; partition < partitions; partition++) {
        const streamId = await streamIdInPartition(pair, partition, partitions);
        await store.appendToStream({ streamId, streamType: name, expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2), deposited(3)] });
      }
      await untilFeedHorizonPasses(pair);
      // Batches of one event, 600 ms each: a drain waits 1.2 s for a connection, then 0.6 s in its batch, past its 1.5 s lease.
      const processor: FeedProcessor<RecordedEvent> = {
        name,
        partitions,
        batchSize: 1,
        source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [name] }),
        failurePolicy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 10 },
        handler: { mode: 'transactional', handle: () => sleep(600) },
      };
      const pairRun = runFeedProcessor(processor, { db: pair, holder: 'pair', leaseTtlMs: 1_500, deadline: Date.now() + 30_000, concurrency: partitions });
      const pairEnded = pairRun.then(() => true);
      // Another instance runs again and again meanwhile, as nudged invocations would.
      const otherRuns: ProcessorRun[] = [];
      while (!(await Promise.race([pairEnded, sleep(100).then(() => false)]))) {
        otherRuns.push(await runFeedProcessor(processor, { db: other, holder: 'other', leaseTtlMs: 1_500, deadline: Date.now() + 20_000, concurrency: partitions }));
      }
      const pairDone = await pairRun;

      expect(otherRuns.flatMap((run) => run.failures.map((failure) => failure.error.message))).toEqual([]);
      expect(pairDone.failures).toEqual([]);
      expect(pairDone.items + otherRuns.reduce((sum, run) => sum + run.items, 0)).toBe(4 * partitions);
      const status = await getProcessorStatus(other, processor);
      expect(status.map((partition) => ({ lag: partition.lagItems, processed: partition.itemsProcessed, attempts: partition.attempts }))).toEqual(
        Array.from({ length: partitions }, () => ({ lag: 0, processed: 4, attempts: 0 })),
      );
    } finally {
      await pair.close();
    }
  }, 60_000);

  it('given a batch that renewed its queued sibling\'s lease and then failed to commit, the sibling renews its lease itself: its live holder\'s partition is not found run out', async () => {
    const name = 'sibling_renewal_rolled_back';
    await solo.query('CREATE TABLE commits_refused (id integer, CONSTRAINT commits_refused_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)');
    const store = createEventStore(solo);
    for (const partition of [0, 1]) {
      await store.appendToStream({ streamId: await streamIdInPartition(solo, partition, 2), streamType: name, expectedVersion: 'no_stream', events: [opened()] });
    }
    await untilFeedHorizonPasses(solo);
    let first: number | undefined;
    let seen: { leaseAfterCommit: { holder: string | null; live: boolean } | undefined; takenOverFrom: string | null | undefined } | undefined;
    const processor = processorOfType<number>(name, 2, {
      mode: 'transactional',
      handle: async (_items, { tx, partition }) => {
        if (first === undefined) {
          // Past half the sibling's lease, so it renews it; then its COMMIT is refused (a deferred unique check).
          first = partition;
          await sleep(900);
          await tx.query('INSERT INTO commits_refused VALUES (1), (1)');
        } else if (partition !== first) {
          // The sibling, queued for the one connection meanwhile, ends past its lease's time.
          await sleep(200);
        }
        return partition;
      },
      afterCommit: async (partition) => {
        if (partition === first || seen) return;
        const { rows } = await other.query<{ holder: string | null; live: boolean }>(
          'SELECT holder, expires_at > clock_timestamp() AS live FROM partition_leases WHERE lease_group = $1 AND partition = $2',
          [name, partition],
        );
        // Another instance looking for work now, as a nudged invocation would.
        const takeover = await acquirePartitionLease(other, { group: name, partitions: 2, holder: 'other', ttlMs: 60_000, only: partition });
        seen = { leaseAfterCommit: rows[0], takenOverFrom: takeover?.tookOverFrom };
      },
    });

    const outcome = await runFeedProcessor(processor, { db: solo, holder: 'solo', leaseTtlMs: 1_000, deadline: Date.now() + 20_000, concurrency: 2 }).then(
      () => 'resolved',
      (error: unknown) => `rejected: ${String(error)}`,
    );

    expect(outcome).toMatch(/rejected: .*commits_refused_once/);
    expect(seen).toEqual({ leaseAfterCommit: { holder: 'solo', live: true }, takenOverFrom: undefined });
  }, 30_000);
});
