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
  type HandlerFailure,
  type ProcessorRun,
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

  it('renews a lease that ran out while its drain waited, before its batch commits: another instance running then does not take the partition from its live holder, nor count it as dead', async () => {
    const name = 'queued_past_a_taken_over_lease';
    const store = createEventStore(solo);
    for (const partition of [0, 1]) {
      await store.appendToStream({ streamId: await streamIdInPartition(solo, partition, 2), streamType: 'late', expectedVersion: 'no_stream', events: [opened()] });
    }
    await untilFeedHorizonPasses(solo);
    await registerProcessor(solo, name, 2);
    await ensurePartitionLeaseRows(solo, name, 2);
    // Partition 1's last holder died holding it; partition 0 is free.
    expect(await acquirePartitionLease(solo, { group: name, partitions: 2, holder: 'dead', ttlMs: 60_000, only: 1 })).not.toBeNull();
    await expireLeases(solo, name);
    const ttlMs = 2_000;
    let leaseAfterCommit: { holder: string | null; live: boolean } | undefined;
    let otherRun: ProcessorRun | undefined;
    const processor: FeedProcessor<RecordedEvent, number> = {
      name,
      partitions: 2,
      batchSize: 10,
      // This spec's own streams: the file's other spec wrote to the same feed.
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: ['late'] }),
      failurePolicy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 10 },
      handler: {
        mode: 'transactional',
        // Partition 0's batch holds the only connection past partition 1's whole lease, taken over just before.
        handle: async (_items, { partition }) => {
          if (partition === 0) await sleep(ttlMs + 500);
          return partition;
        },
        // Partition 1's batch has committed and its holder lives on: another instance runs now, as a nudged Lambda would.
        afterCommit: async (partition) => {
          if (partition !== 1 || leaseAfterCommit) return;
          const { rows } = await other.query<{ holder: string | null; live: boolean }>(
            'SELECT holder, expires_at > clock_timestamp() AS live FROM partition_leases WHERE lease_group = $1 AND partition = 1',
            [name],
          );
          leaseAfterCommit = rows[0];
          otherRun = await runFeedProcessor(processor, { db: other, holder: 'other', leaseTtlMs: 60_000, deadline: Date.now() + 20_000, concurrency: 2 });
        },
      },
    };

    const run = await runFeedProcessor(processor, { db: solo, holder: 'solo', leaseTtlMs: ttlMs, deadline: Date.now() + 30_000, concurrency: 2 });

    expect(run.items).toBe(2);
    expect({ leaseAfterCommit, otherFailures: otherRun?.failures.map((failure) => failure.error.message) }).toEqual({
      leaseAfterCommit: { holder: 'solo', live: true },
      otherFailures: [],
    });
  });
});
