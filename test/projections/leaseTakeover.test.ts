import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { acquirePartitionLease, type AcquiredLease, type HandlerFailure } from '../../core/processing';
import { activateIfCaughtUp, createProjector, processorNameOf, rebuildProjection, registerProjection } from '../../core/projections';
import { NO_UPCASTING, START_OF_FEED } from '../../core/eventstore';
import { expireLeases } from '../support/expireLeases';
import { deferred } from '../support/fixtures';
import { readThrough } from '../support/followFeed';
import { untilLockWaiters } from '../support/lockWaiters';
import { streamIdInPartition } from '../support/streamInPartition';
import { useProjectionDatabase } from './support/projectionDatabase';
import { stallingInABatch } from './support/stallingInABatch';
import { appendAcrossStreams, expectExactlyOnceInOrder, readApplied, recordingProjection } from './support/recordingProjection';
import { asIfEachReachedTheHeadOnce } from './support/reachedHeadOnce';

// Longer than any of these specs: a dead holder's lease ends only when the spec expires it,
// so "the lease still stands" holds however slow the runner is.
const TTL_MS = 60_000;

describe('a partition whose holder stopped', () => {
  const context = useProjectionDatabase();

  it('is left alone while the lease lasts, then taken over from the stored checkpoint', async () => {
    const { db, store } = context();
    const projection = recordingProjection({ name: 'abandoned' });
    await registerProjection(db, projection);
    const appended = await appendAcrossStreams(store, ['acc-1', 'acc-2'], 30, 10);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    // An instance took the partition and died before its first batch.
    const group = processorNameOf('abandoned', 1);
    const dead = await acquirePartitionLease(db, { group, partitions: 1, holder: 'dead', ttlMs: TTL_MS });
    expect(dead).not.toBeNull();
    const live = createProjector({ db, projections: [projection], holder: 'live', leaseTtlMs: TTL_MS });

    expect((await live.runUntilCaughtUp()).eventsApplied).toBe(0);
    await expireLeases(db, group);
    expect((await live.runUntilCaughtUp()).eventsApplied).toBe(appended.eventIds.length);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});

describe('a holder killed mid-batch', () => {
  const context = useProjectionDatabase();

  it('leaves no trace of its batch, and once its lease expires the next holder applies every event once', async () => {
    const { db, store, url } = context();
    const appended = await appendAcrossStreams(store, ['acc-3', 'acc-4'], 30, 10);
    // Visible to every reader from here on: the feed's horizon only moves forward.
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    // The first holder runs as a process of its own, killed like a Lambda that died mid-batch.
    const holder = await stallingInABatch([url, 'killed', String(TTL_MS)]);
    holder.kill('SIGKILL');
    await once(holder, 'exit');

    const projection = recordingProjection({ name: 'killed', batchSize: 20 });
    const second = createProjector({ db, projections: [projection], holder: 'second', leaseTtlMs: TTL_MS });
    expect((await second.runUntilCaughtUp()).eventsApplied, 'the dead holder\'s lease still stands').toBe(0);
    await expireLeases(db, processorNameOf('killed', 1));
    expect((await second.runUntilCaughtUp()).eventsApplied).toBe(appended.eventIds.length);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});

describe('a build partition whose holder died mid-batch', () => {
  const context = useProjectionDatabase();

  it('holds the switch off, its batch left to the takeover, which counts the loss, applies it and then switches', async () => {
    const { db, store } = context();
    const projection = recordingProjection({ name: 'dead_build', partitions: 2 });
    const streamIds = [await streamIdInPartition(db, 0, 2), await streamIdInPartition(db, 1, 2)];
    const appended = await appendAcrossStreams(store, streamIds, 10, 5);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    const failures: HandlerFailure[] = [];
    const live = createProjector({ db, projections: [projection], holder: 'live', leaseTtlMs: TTL_MS, onHandlerError: (failure) => failures.push(failure) });
    await live.runUntilCaughtUp();
    await rebuildProjection(db, projection);
    // An instance took the build's partition 0 and died in its batch: rolled back, its lease still stands.
    const build = processorNameOf('dead_build', 2);
    expect((await acquirePartitionLease(db, { group: build, partitions: 2, holder: 'dead', ttlMs: TTL_MS }))?.partition).toBe(0);

    const beside = await live.runUntilCaughtUp();

    expect(beside.activated).toEqual([]);
    expect(failures).toEqual([]);
    await expireLeases(db, build);
    const takeover = await live.runUntilCaughtUp();
    expect(takeover.activated).toEqual([{ name: 'dead_build', generation: 2 }]);
    expect(failures.map((failure) => [failure.processor, failure.partition, failure.error.name])).toEqual([[build, 0, 'LeaseRanOutError']]);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});

describe('a build holder that dies in its batch while a switch waits for that batch', () => {
  const context = useProjectionDatabase();

  it('holds the switch off: the batch rolled back with its holder is the takeover\'s to count and apply, not the switch\'s', async () => {
    const { db, store, url } = context();
    const projection = recordingProjection({ name: 'dying_build', partitions: 2, batchSize: 20 });
    const streamIds = [await streamIdInPartition(db, 0, 2), await streamIdInPartition(db, 1, 2)];
    const appended = await appendAcrossStreams(store, streamIds, 6, 3);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    const failures: HandlerFailure[] = [];
    const live = createProjector({ db, projections: [projection], holder: 'live', leaseTtlMs: TTL_MS, onHandlerError: (failure) => failures.push(failure) });
    await live.runUntilCaughtUp();
    const build = await rebuildProjection(db, projection);
    const group = processorNameOf('dying_build', build.generation);
    await asIfEachReachedTheHeadOnce(db, group, 2);
    // Another instance, a process of its own, takes the build's partition 0 and is in its batch.
    const doomed = await stallingInABatch([url, 'dying_build', String(TTL_MS), 'doomed', '', '', '2']);

    // This instance drains partition 1; its switch then waits for partition 0's batch, whose holder dies (a Lambda's timeout).
    const running = live.runUntilCaughtUp();
    await untilLockWaiters(url, 'some');
    doomed.kill('SIGKILL');
    await once(doomed, 'exit');
    const beside = await running;

    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dying_build__applied_g${String(build.generation)} WHERE stream_id = $1`, [streamIds[0]]);
    expect({ activated: beside.activated, appliedOnPartition0: rows[0]?.n }).toEqual({ activated: [], appliedOnPartition0: 0 });
    await expireLeases(db, group);
    expect((await live.runUntilCaughtUp()).activated).toEqual([{ name: 'dying_build', generation: build.generation }]);
    expect(failures.map((failure) => [failure.processor, failure.partition, failure.error.name])).toEqual([[group, 0, 'LeaseRanOutError']]);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});

/**
 * Another instance's takeover of a partition whose lease ran out, paused after its
 * statement (which locks the lease row) and before its commit: the window the
 * engine's own takeover has while its statement runs and commits.
 */
async function takeoverUnderWay(taker: Db, group: string): Promise<{ lease: AcquiredLease | null; commit: () => Promise<void> }> {
  const acquired = deferred();
  const committing = deferred();
  const taken: { lease: AcquiredLease | null } = { lease: null };
  const done = taker.transaction(async (tx) => {
    taken.lease = await acquirePartitionLease(tx, { group, partitions: 1, holder: 'taker', ttlMs: TTL_MS });
    acquired.resolve();
    await committing.promise;
  });
  await Promise.race([acquired.promise, done]);
  return {
    lease: taken.lease,
    commit: async () => {
      committing.resolve();
      await done;
    },
  };
}

describe('a switch tried while another instance is taking a dead build holder\'s partition over', () => {
  const context = useProjectionDatabase();

  it('waits for the takeover and declines: the batch the holder died in is the takeover\'s to count and apply', async () => {
    const { db, store, url, connect } = context();
    const projection = recordingProjection({ name: 'taken_build' });
    const appended = await appendAcrossStreams(store, ['acc-5', 'acc-6'], 6, 3);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    const failures: HandlerFailure[] = [];
    const live = createProjector({ db, projections: [projection], holder: 'live', leaseTtlMs: TTL_MS, onHandlerError: (failure) => failures.push(failure) });
    await live.runUntilCaughtUp();
    const build = await rebuildProjection(db, projection);
    const group = processorNameOf('taken_build', build.generation);
    // Its holder died in its first batch (rolled back), and its lease ran out.
    expect((await acquirePartitionLease(db, { group, partitions: 1, holder: 'dead', ttlMs: TTL_MS }))?.partition).toBe(0);
    await expireLeases(db, group);
    const takeover = await takeoverUnderWay(connect(1), group);
    expect(takeover.lease?.tookOverFrom).toBe('dead');

    let switching: Promise<boolean> | undefined;
    try {
      switching = activateIfCaughtUp(db, projection, build, NO_UPCASTING, { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 }).then((outcome) => outcome.switched);
      await untilLockWaiters(url, 'some');
    } finally {
      await takeover.commit();
    }

    expect(await switching).toBe(false);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM taken_build__applied_g2');
    expect(rows[0]?.n, 'events the switch applied itself').toBe(0);
    // The taker died too; the next instance takes its place, counts it, catches up and switches.
    await expireLeases(db, group);
    expect((await live.runUntilCaughtUp()).activated).toEqual([{ name: 'taken_build', generation: build.generation }]);
    expect(failures.map((failure) => [failure.processor, failure.error.name])).toEqual([[group, 'LeaseRanOutError']]);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
  });
});
