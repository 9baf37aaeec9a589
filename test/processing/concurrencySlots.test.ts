import { describe, expect, it } from 'vitest';
import type { Db, QueryOptions, QueryResult } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import {
  acquirePartitionLease,
  BatchItemError,
  ensurePartitionLeaseRows,
  eventFeedSource,
  getProcessorStatus,
  LeaseRanOutError,
  listPartitionLeases,
  releasePartitionLease,
  runFeedProcessor,
  type FailurePolicy,
  type FeedProcessor,
  type HandlerFailure,
  type PartitionLease,
} from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

const testDatabase = usePooledTestDatabase(6);

/** One event in a stream of each partition, under a stream type of the spec's own: the file's other specs' events are not its processor's. */
async function oneEventPerPartition(db: Db, partitions: number, streamType: string): Promise<string[]> {
  const store = createEventStore(db);
  const streams = await Promise.all(Array.from({ length: partitions }, (_, partition) => streamIdInPartition(db, partition, partitions)));
  for (const streamId of streams) await store.appendToStream({ streamId, streamType, expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db);
  return streams;
}

type Handle = (events: readonly RecordedEvent[], context: { partition: number }) => Promise<void>;

function processorOf(streamType: string, partitions: number, handle: Handle, failurePolicy: FailurePolicy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 }): FeedProcessor<RecordedEvent> {
  return {
    name: streamType.replaceAll('-', '_'),
    partitions,
    batchSize: 10,
    source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [streamType] }),
    failurePolicy,
    handler: { mode: 'transactional', handle },
  };
}

/** The pool, with `before` run ahead of each statement. */
const beforeEachStatement = (pool: Db, before: (text: string) => Promise<void> | void): Db => ({
  query: async (text, params, options) => {
    await before(text);
    return pool.query(text, params, options);
  },
  close: () => pool.close(),
  transaction: (work) => pool.transaction(work),
});

// The statement that leases a partition (ACQUIRE_SQL) names the holder whose lease ran out.
const isLeaseStatement = (text: string) => text.includes('ran_out_holder');

describe('a run draining 2 of 4 partitions at once', () => {
  it('given one slow partition, drains the other three in its other slot before the deadline', async () => {
    const db = testDatabase();
    await oneEventPerPartition(db, 4, 'one-slow-account');
    const handled: number[] = [];
    // Partition 0's batch outlasts the run's deadline; the others take no time, and have
    // the deadline's 6 s to be drained in, a margin a loaded runner's slow statements keep.
    const processor = processorOf('one-slow-account', 4, async (_events, { partition }) => {
      if (partition === 0) await sleep(8_000);
      handled.push(partition);
    });

    const run = await runFeedProcessor(processor, { db, holder: 'two-slots', leaseTtlMs: 30_000, deadline: Date.now() + 6_000, concurrency: 2 });

    expect(handled.toSorted()).toEqual([0, 1, 2, 3]);
    expect(run.partitions.toSorted()).toEqual([0, 1, 2, 3]);
    expect(run.items).toBe(4);
  });

  it('given two partitions another instance holds and gives back a moment later, drains them in the slot that found nothing free', async () => {
    const db = testDatabase();
    await oneEventPerPartition(db, 4, 'given-back-account');
    const handled: number[] = [];
    const processor = processorOf('given-back-account', 4, async (_events, { partition }) => {
      if (partition === 0) await sleep(2_500);
      if (partition >= 2) await sleep(1_500);
      handled.push(partition);
    });
    const other = { group: processor.name, partitions: 4, holder: 'other', ttlMs: 30_000 };
    const held = [await acquirePartitionLease(db, { ...other, exclude: [0, 1] }), await acquirePartitionLease(db, { ...other, exclude: [0, 1] })];
    expect(held.map((lease) => lease?.partition).toSorted()).toEqual([2, 3]);
    const givenBack = sleep(500).then(() => Promise.all(held.map((lease) => (lease ? releasePartitionLease(db, lease) : Promise.resolve()))));

    const run = await runFeedProcessor(processor, { db, holder: 'slots', leaseTtlMs: 30_000, deadline: Date.now() + 3_000, concurrency: 2 });
    await givenBack;

    expect({ handled: handled.toSorted(), partitions: run.partitions.toSorted(), stoppedByDeadline: run.stoppedByDeadline }).toEqual({
      handled: [0, 1, 2, 3],
      partitions: [0, 1, 2, 3],
      stoppedByDeadline: false,
    });
  });
});

describe('a run draining 2 partitions at once, one of them held by another instance', () => {
  it('given the other instance gives it back while the run drains a long batch, drains it before that batch ends', async () => {
    const db = testDatabase();
    await oneEventPerPartition(db, 2, 'given-back-mid-batch-account');
    const finished: number[] = [];
    const processor = processorOf('given-back-mid-batch-account', 2, async (_events, { partition }) => {
      if (partition === 0) await sleep(5_000);
      finished.push(partition);
    });
    const held = await acquirePartitionLease(db, { group: processor.name, partitions: 2, holder: 'other', ttlMs: 30_000, exclude: [0] });
    expect(held?.partition).toBe(1);
    const givenBack = sleep(500).then(() => (held ? releasePartitionLease(db, held) : undefined));

    const run = await runFeedProcessor(processor, { db, holder: 'long-batch', leaseTtlMs: 30_000, deadline: Date.now() + 8_000, concurrency: 2 });
    await givenBack;

    // Partition 1 is drained within a look or two of its release, while partition 0's batch still runs.
    expect({ finished, partitions: run.partitions.toSorted(), items: run.items }).toEqual({ finished: [1, 0], partitions: [0, 1], items: 2 });
  });
});

describe('a run of 8 slots, 6 of its 8 partitions held by another instance throughout', () => {
  it('looks again about once a second in all while one slot drains a long batch, and once for each slot when it ends', async () => {
    const pool = testDatabase();
    await oneEventPerPartition(pool, 8, 'held-throughout-account');
    const leaseStatementsAt: number[] = [];
    const db = beforeEachStatement(pool, (text) => {
      if (isLeaseStatement(text)) leaseStatementsAt.push(Date.now());
    });
    const slowBatch = { start: 0, end: 0 };
    const processor = processorOf('held-throughout-account', 8, async (_events, { partition }) => {
      if (partition !== 0) return;
      slowBatch.start = Date.now();
      await sleep(4_000);
      slowBatch.end = Date.now();
    });
    const other = { group: processor.name, partitions: 8, holder: 'other', ttlMs: 60_000 };
    for (let held = 0; held < 6; held++) await acquirePartitionLease(pool, { ...other, exclude: [0, 1] });

    const run = await runFeedProcessor(processor, { db, holder: 'eight-slots', leaseTtlMs: 60_000, deadline: Date.now() + 20_000, concurrency: 8 });

    expect(run.partitions.toSorted()).toEqual([0, 1]);
    // A look takes a statement or two: about 3 looks in the long batch's last 3.5 s, not one
    // a second for each of the 7 idle slots; and at its end, a look for each slot, not a
    // look for each that every slot leaving woke.
    const during = leaseStatementsAt.filter((at) => at > slowBatch.start + 500 && at < slowBatch.end);
    const after = leaseStatementsAt.filter((at) => at >= slowBatch.end);
    expect({ during: during.length <= 10, after: after.length <= 2 * 8 + 2 }).toEqual({ during: true, after: true });
  });
});

describe('a run of 8 slots, 6 of its 8 partitions given back by another instance together while one slot drains a long batch', () => {
  it('drains all 6 before the deadline: the look that finds the first wakes the idle slots to lease the rest', async () => {
    const db = testDatabase();
    await oneEventPerPartition(db, 8, 'given-back-together-account');
    const processor = processorOf('given-back-together-account', 8, async (_events, { partition }) => {
      if (partition === 0) await sleep(5_000);
      // Five long batches at once, so the file's six pooled connections leave one for the rest:
      // a batch still queued for a connection at the deadline would handle nothing.
      else if (partition >= 2 && partition < 6) await sleep(3_000);
    });
    const other = { group: processor.name, partitions: 8, holder: 'other', ttlMs: 60_000 };
    const held: PartitionLease[] = [];
    for (let partition = 0; partition < 6; partition++) {
      const lease = await acquirePartitionLease(db, { ...other, exclude: [0, 1] });
      if (lease) held.push(lease);
    }
    expect(held).toHaveLength(6);
    const givenBack = sleep(500).then(() => Promise.all(held.map((lease) => releasePartitionLease(db, lease))));

    // Found a second or so after the give-back, each drain ends past the deadline: leased one a second, most would be left.
    const run = await runFeedProcessor(processor, { db, holder: 'eight-slots', leaseTtlMs: 60_000, deadline: Date.now() + 2_800, concurrency: 8 });
    await givenBack;

    expect({ partitions: run.partitions.toSorted(), stoppedByDeadline: run.stoppedByDeadline }).toEqual({ partitions: [0, 1, 2, 3, 4, 5, 6, 7], stoppedByDeadline: false });
  });
});

describe('a run of a slot per partition (as sagas and the publisher run), 32 partitions, some held by another instance', () => {
  /** Runs 32 slots on 32 partitions, the last `held` held by another instance (given back by `giveBack`), and counts the run's lease statements. */
  async function leaseStatementsOf(streamType: string, held: number, handle: Handle, giveBack?: (leases: PartitionLease[]) => Promise<unknown>) {
    const pool = testDatabase();
    await oneEventPerPartition(pool, 32, streamType);
    let leaseStatements = 0;
    const db = beforeEachStatement(pool, (text) => {
      if (isLeaseStatement(text)) leaseStatements += 1;
    });
    const processor = processorOf(streamType, 32, handle);
    const ours = Array.from({ length: 32 - held }, (_, partition) => partition);
    const leases: PartitionLease[] = [];
    for (let other = 0; other < held; other++) {
      const lease = await acquirePartitionLease(pool, { group: processor.name, partitions: 32, holder: 'other', ttlMs: 60_000, exclude: ours });
      if (lease) leases.push(lease);
    }
    const givenBack = giveBack?.(leases);
    const run = await runFeedProcessor(processor, { db, holder: 'a-slot-each', leaseTtlMs: 60_000, deadline: Date.now() + 30_000, concurrency: 32 });
    await givenBack;
    return { drained: run.partitions.length, leaseStatements };
  }

  it('given 16 held throughout and its own 16 drains ending one after another, makes a few lease statements a slot, not a look per idle slot per drain', async () => {
    const { drained, leaseStatements } = await leaseStatementsOf('staggered-drains-account', 16, (_events, { partition }) => sleep(partition * 150));

    expect({ drained, fewLooks: leaseStatements <= 4 * 32 }).toEqual({ drained: 16, fewLooks: true });
  });

  it('given 30 held and given back one every 150 ms, drains them all with a few lease statements a slot, not a look per idle slot per partition found', async () => {
    const { drained, leaseStatements } = await leaseStatementsOf(
      'trickled-back-account',
      30,
      (_events, { partition }) => sleep(partition === 0 ? 6_000 : 1_000),
      async (leases) => {
        await sleep(300);
        for (const lease of leases) {
          await releasePartitionLease(testDatabase(), lease);
          await sleep(150);
        }
      },
    );

    expect({ drained, fewLooks: leaseStatements <= 10 * 32 }).toEqual({ drained: 32, fewLooks: true });
  });
});

describe('a run draining 2 partitions at once, one batch outlasting its lease and the deadline', () => {
  it('is not stopped by the deadline when the only partition its other slot found free was its own, still draining', async () => {
    const db = testDatabase();
    await oneEventPerPartition(db, 2, 'past-its-lease-account');
    // Partition 0's batch outlasts its 1 s lease and the deadline; partition 1's ends past the deadline.
    const processor = processorOf('past-its-lease-account', 2, (_events, { partition }) => sleep(partition === 0 ? 4_000 : 2_000));

    const run = await runFeedProcessor(processor, { db, holder: 'own-slot', leaseTtlMs: 1_000, deadline: Date.now() + 1_500, concurrency: 2 });

    expect((await getProcessorStatus(db, processor)).map((partition) => partition.lagItems)).toEqual([0, 0]);
    expect(run).toMatchObject({ items: 2, caughtUp: true, stoppedByDeadline: false });
    expect(run.partitions.toSorted()).toEqual([0, 1]);
  });
});

describe('a run draining 2 of 3 partitions at once, one batch failing', () => {
  it('tries the failing batch once: another slot does not lease the partition its failure gave back', async () => {
    const pool = testDatabase();
    const [failing] = await oneEventPerPartition(pool, 3, 'failing-account');
    // The answer to the failed batch's COMMIT reaches the process 300 ms after the server
    // committed, as over a slow network: the partition is free in the database meanwhile.
    let failedJustNow = false;
    const db: Db = {
      ...beforeEachStatement(pool, () => undefined),
      transaction: async (work) => {
        const result = await pool.transaction(work);
        if (failedJustNow) {
          failedJustNow = false;
          await sleep(300);
        }
        return result;
      },
    };
    let failingBatchRuns = 0;
    const processor = processorOf(
      'failing-account',
      3,
      async (events) => {
        const bad = events.find((event) => event.streamId === failing);
        if (!bad) return sleep(100);
        failingBatchRuns += 1;
        failedJustNow = true;
        throw new BatchItemError('cannot handle it', bad.eventId, new Error('boom'));
      },
      { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 0 },
    );

    const run = await runFeedProcessor(processor, { db, holder: 'two-slots', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 2 });

    const [failed] = await getProcessorStatus(pool, processor);
    expect({ partitions: run.partitions.toSorted(), failingBatchRuns, failures: run.failures.length, attempts: failed?.attempts }).toEqual({
      partitions: [0, 1, 2],
      failingBatchRuns: 1,
      failures: 1,
      attempts: 1,
    });
  });
});

describe('a run whose one slot fails while another slot takes a dead holder’s partition over', () => {
  it('counts the dead holder’s lost batch: the lease it took is drained, not given back without a word', async () => {
    const pool = testDatabase();
    const processor = processorOf('takeover-account', 1, () => Promise.resolve(), { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 0 });
    // A holder that died mid-batch: its lease runs out at once.
    const dead = await acquirePartitionLease(pool, { group: processor.name, partitions: 1, holder: 'dead', ttlMs: 1 });
    expect(dead?.partition).toBe(0);
    await sleep(50);
    // The run's first lease statement fails (a pooled connection lost); the other slot's is answered just after.
    let leaseStatements = 0;
    let firstFailed: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => (firstFailed = resolve));
    const db = beforeEachStatement(pool, async (text) => {
      if (!isLeaseStatement(text)) return;
      leaseStatements += 1;
      if (leaseStatements === 1) {
        setTimeout(firstFailed, 0);
        throw new Error('connection lost');
      }
      await failed;
      await sleep(20);
    });
    const told: HandlerFailure[] = [];

    const run = runFeedProcessor(processor, { db, holder: 'live', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 2, onFailure: (failure) => told.push(failure) });

    await expect(run).rejects.toThrow('connection lost');
    expect(leaseStatements).toBe(2);
    expect(told.map((failure) => [failure.partition, failure.error instanceof LeaseRanOutError, String(failure.error)])).toEqual([[0, true, expect.stringContaining('dead')]]);
  });
});

describe('a run of many slots whose one partition is slow', () => {
  it('does not look for free partitions again and again while the slow batch goes on', async () => {
    const pool = testDatabase();
    await oneEventPerPartition(pool, 4, 'idle-slot-account');
    let leaseStatements = 0;
    const db = beforeEachStatement(pool, (text) => {
      if (isLeaseStatement(text)) leaseStatements += 1;
    });
    const processor = processorOf('idle-slot-account', 4, (_events, { partition }) => sleep(partition === 0 ? 1_500 : 0));

    const run = await runFeedProcessor(processor, { db, holder: 'idle-slots', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 4 });

    expect(run).toMatchObject({ items: 4, caughtUp: true, stoppedByDeadline: false });
    // A statement per lease and a few after each drain ends: not one after another for 1.5 s.
    expect(leaseStatements).toBeLessThan(40);
  });

  it('given as many slots as partitions (as sagas and the publisher run), does not look again once it has leased them all', async () => {
    const pool = testDatabase();
    await oneEventPerPartition(pool, 32, 'many-slots-account');
    let leaseStatements = 0;
    const db = beforeEachStatement(pool, (text) => {
      if (isLeaseStatement(text)) leaseStatements += 1;
    });
    // Each batch takes a moment, as a handler's own writes would, and one is slow.
    const processor = processorOf('many-slots-account', 32, (_events, { partition }) => sleep(partition === 0 ? 1_500 : 20 + partition * 5));

    const run = await runFeedProcessor(processor, { db, holder: 'many-slots', leaseTtlMs: 30_000, deadline: Date.now() + 20_000, concurrency: 32 });

    expect(run).toMatchObject({ items: 32, caughtUp: true, stoppedByDeadline: false });
    // On a first run each slot's first look misses, makes the lease rows and looks again:
    // two statements a partition, and a few misses by slots that looked as the last were leased.
    expect(leaseStatements).toBeLessThan(3 * 32);
  });
});

// A release (RELEASE_SQL) answers whether the lease was given back.
const isReleaseStatement = (text: string) => text.includes('given_back');

/**
 * The pool, with the run's first claim stalled past its snapshot on an advisory lock,
 * as a backend descheduled on a loaded server would be, until the run's first release
 * is answered: the claim then sees its partition as it was before a sibling slot
 * leased, drained and gave it back. `beforeFirstRelease` runs just before that release
 * is sent; with `laterReleasesAfterRetake`, the releases after it wait for the run's
 * first retake (a claim of one partition) to be answered.
 */
/** Waits for `answer`, or fails once the specs' runs (20 s to their deadline) would have ended without it. */
async function answeredBeforeTheRunEnds(answer: Promise<void>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} was not answered before the run's deadline`));
    }, 25_000);
  });
  try {
    await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function withFirstClaimStalled(pool: Db, options: { beforeFirstRelease?: () => Promise<void>; laterReleasesAfterRetake?: boolean } = {}) {
  const stall = 742_001;
  const locked = deferred();
  const unstall = deferred();
  const holding = pool.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [stall]);
    locked.resolve();
    await unstall.promise;
  });
  await locked.promise;
  let stalled: Promise<unknown> | undefined;
  let releases = 0;
  const retakeAnswered = deferred();
  const db: Db = {
    ...pool,
    query: async <Row extends object>(text: string, params?: readonly unknown[], queryOptions?: QueryOptions): Promise<QueryResult<Row>> => {
      if (isLeaseStatement(text) && !stalled) {
        const claim = pool.query<Row>(text.replace('WHERE c.lease_group = $1', `WHERE (SELECT pg_advisory_xact_lock_shared(${stall})::text) = '' AND c.lease_group = $1`), params, queryOptions);
        stalled = claim;
        return claim;
      }
      if (isLeaseStatement(text) && params?.[5] !== null) {
        try {
          return await pool.query<Row>(text, params, queryOptions);
        } finally {
          retakeAnswered.resolve();
        }
      }
      if (isReleaseStatement(text) && ++releases === 1) {
        // The stall ends with this release whatever happens before it: a failure there
        // (the feed's horizon held by another file's transaction) fails the spec, not hangs it.
        try {
          await options.beforeFirstRelease?.();
          return await pool.query<Row>(text, params, queryOptions);
        } finally {
          unstall.resolve();
          await stalled;
        }
      }
      if (isReleaseStatement(text) && options.laterReleasesAfterRetake) await answeredBeforeTheRunEnds(retakeAnswered.promise, 'the retake of the drained partition');
      return pool.query<Row>(text, params, queryOptions);
    },
    close: () => pool.close(),
    transaction: (work) => pool.transaction(work),
  };
  return { db, holding };
}

describe('a run of 2 slots on 2 partitions, one slot’s claim stalled after its snapshot while the other drains partition 0 and gives it back', () => {
  it('drains each partition and lists it once: the stalled claim takes partition 0 back, and the run still leases partition 1', async () => {
    const pool = testDatabase();
    await oneEventPerPartition(pool, 2, 'stalled-claim-account');
    const processor = processorOf('stalled-claim-account', 2, () => Promise.resolve());
    // The rows a claim scans, as after the group's first run.
    await ensurePartitionLeaseRows(pool, processor.name, 2);
    const { db, holding } = await withFirstClaimStalled(pool);

    const run = await runFeedProcessor(processor, { db, holder: 'two-slots', leaseTtlMs: 30_000, deadline: Date.now() + 20_000, concurrency: 2 });
    await holding;

    const [status, leases] = [await getProcessorStatus(pool, processor), await listPartitionLeases(pool, processor.name)];
    expect({ partitions: run.partitions.toSorted(), items: run.items, lag: status.map((partition) => partition.lagItems), holders: leases.map((lease) => lease.holder) }).toEqual({
      partitions: [0, 1],
      items: 2,
      lag: [0, 0],
      holders: ['', ''],
    });
  });
});

describe('a run of 2 slots on 1 partition, one slot’s claim stalled after its snapshot, an event committed just before the other slot gives the drained partition back', () => {
  it('handles the event: the stalled claim that took the partition back drains it, though the other slot’s retake found it held', async () => {
    const pool = testDatabase();
    await oneEventPerPartition(pool, 1, 'stalled-retake-account');
    const handled: string[] = [];
    const processor = processorOf('stalled-retake-account', 1, (events) => {
      handled.push(...events.map((event) => event.type));
      return Promise.resolve();
    });
    await ensurePartitionLeaseRows(pool, processor.name, 1);
    const { db, holding } = await withFirstClaimStalled(pool, {
      beforeFirstRelease: async () => {
        await createEventStore(pool).appendToStream({ streamId: uniqueStreamId(), streamType: 'stalled-retake-account', expectedVersion: 'no_stream', events: [deposited(5)] });
        await untilFeedHorizonPasses(pool);
      },
      laterReleasesAfterRetake: true,
    });

    const run = await runFeedProcessor(processor, { db, holder: 'two-slots', leaseTtlMs: 30_000, deadline: Date.now() + 20_000, concurrency: 2 });
    await holding;

    const [status] = await getProcessorStatus(pool, processor);
    expect({ handled, items: run.items, partitions: run.partitions, lag: status?.lagItems }).toEqual({
      handled: ['AccountOpened', 'MoneyDeposited'],
      items: 2,
      partitions: [0],
      lag: 0,
    });
  });
});

describe('a run of 2 slots on 1 partition, one slot’s claim stalled after its snapshot while the other’s batch fails', () => {
  it('does not report the partition held back: a drain of it ran its batch, which failed, though the late claim then found it waiting', async () => {
    const pool = testDatabase();
    const [failing] = await oneEventPerPartition(pool, 1, 'late-held-back-account');
    let batches = 0;
    const processor = processorOf(
      'late-held-back-account',
      1,
      (events) => {
        batches += 1;
        const bad = events.find((event) => event.streamId === failing);
        return Promise.reject(new BatchItemError('cannot handle it', bad?.eventId ?? '', new Error('boom')));
      },
      { maxAttempts: 5, baseDelayMs: 5_000, maxDelayMs: 5_000 },
    );
    await ensurePartitionLeaseRows(pool, processor.name, 1);
    const { db, holding } = await withFirstClaimStalled(pool);

    const run = await runFeedProcessor(processor, { db, holder: 'two-slots', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 2 });
    await holding;

    expect({ batches, partitions: run.partitions, heldBack: run.heldBack, failures: run.failures.length }).toEqual({ batches: 1, partitions: [0], heldBack: [], failures: 1 });
  });
});

describe('a run whose one slot throws while another slot\'s partition gets new work', () => {
  it('does not retake that partition once it is drained: the other slots finish what they hold and lease no more', async () => {
    const pool = testDatabase();
    const [, secondStream] = await oneEventPerPartition(pool, 2, 'retake-after-throw-account');
    const store = createEventStore(pool);
    const slotThrew = deferred();
    const processor: FeedProcessor<RecordedEvent, number> = {
      ...processorOf('retake-after-throw-account', 2, () => Promise.resolve()),
      handler: {
        mode: 'transactional',
        handle: async (_events, { partition }) => {
          if (partition === 1) {
            // Its batch waits for the other slot to throw (its partition given back on the way), and new work of
            // its partition is committed meanwhile: once given back, the partition has work past its last read,
            // which a run would take again.
            await slotThrew.promise;
            while ((await listPartitionLeases(pool, processor.name)).find((lease) => lease.partition === 0)?.holder !== '') await sleep(10);
            await store.appendToStream({ streamId: secondStream ?? '', streamType: 'retake-after-throw-account', expectedVersion: 1, events: [deposited(1)] });
          }
          return partition;
        },
        afterCommit: (partition) => {
          if (partition !== 0) return Promise.resolve();
          slotThrew.resolve();
          return Promise.reject(new Error('the follow-up failed'));
        },
      },
    };

    const run = runFeedProcessor(processor, { db: pool, holder: 'thrown', leaseTtlMs: 30_000, deadline: Date.now() + 10_000, concurrency: 2 });

    await expect(run).rejects.toThrow('the follow-up failed');
    // Partition 1 was leased once, and its new event waits for the next run.
    const leases = await listPartitionLeases(pool, processor.name);
    expect(leases.map((lease) => [lease.partition, lease.epoch])).toEqual([
      [0, 1n],
      [1, 1n],
    ]);
    const status = await getProcessorStatus(pool, processor);
    expect(status.map((partition) => partition.itemsProcessed)).toEqual([1, 1]);
  });
});
