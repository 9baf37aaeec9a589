import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { NO_UPCASTING } from '../../core/eventstore';
import { DEFAULT_FAILURE_POLICY, ensurePartitionLeaseRows } from '../../core/processing';
import type { Db } from '../../core/db';
import { activateIfCaughtUp, createProjector, processorNameOf, registerProjection, type ProjectorRun } from '../../core/projections';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, sleep } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { asIfEachReachedTheHeadOnce } from './support/reachedHeadOnce';
import { recordingProjection } from './support/recordingProjection';

const context = useProjectionDatabase();

// How long another instance's build batch takes: far past the switching run's deadline.
const SLOW_BATCH_MS = 5_000;

/**
 * Instance C's run of version 2 of projection `name` (two partitions), once it is in
 * its first batch of the build, which lasts SLOW_BATCH_MS; the run goes on after it.
 */
async function inASlowBuildBatch(db: Db, name: string): Promise<{ run: Promise<ProjectorRun> }> {
  const slowBatchStarted = deferred();
  let slowed = false;
  const slowBuild = recordingProjection({
    name, version: 2, partitions: 2, instance: 'C',
    beforeApply: async () => {
      if (slowed) return;
      slowed = true;
      slowBatchStarted.resolve();
      await sleep(SLOW_BATCH_MS);
    },
  });
  const run = createProjector({ db, projections: [slowBuild], holder: 'C' }).runUntilCaughtUp({ deadline: Date.now() + 30_000 });
  await slowBatchStarted.promise;
  return { run };
}

describe('a switch that finds another instance in a build batch', () => {
  it('gives up at its run’s deadline, and the serving generation goes on applying events meanwhile', async () => {
    const { db, store, connect } = context();
    // Given version 1 serving, and version 2 registered to be built, over two partitions, each of which reached the head once.
    for (let index = 0; index < 8; index++) {
      await store.appendToStream({ streamId: `sw-${index}`, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    }
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name: 'sw', version: 1 })] }).runUntilCaughtUp();
    await registerProjection(db, recordingProjection({ name: 'sw', version: 2, partitions: 2 }));
    await asIfEachReachedTheHeadOnce(db, processorNameOf('sw', 2), 2);
    await store.appendToStream({ streamId: 'sw-0', streamType: 'account', expectedVersion: 2, events: [deposited(2)] });
    await untilFeedHorizonPasses(db);

    // And instance C in a slow batch of the build.
    const { run: slowRun } = await inASlowBuildBatch(connect(2), 'sw');

    // When instance A builds the other partition and tries the switch, with a second to go.
    const startedAt = Date.now();
    const switchingRun = createProjector({ db: connect(2), projections: [recordingProjection({ name: 'sw', version: 2, partitions: 2, instance: 'A' })], holder: 'A' })
      .runUntilCaughtUp({ deadline: startedAt + 1_000 });
    await sleep(1_500);
    const serving = await createProjector({ db: connect(2), projections: [recordingProjection({ name: 'sw', version: 1, instance: 'B' })], holder: 'B' })
      .runUntilCaughtUp({ deadline: Date.now() + 2_000 });
    const switched = await switchingRun;
    const tookMs = Date.now() - startedAt;
    await slowRun;

    // Then A's run ends near its deadline, not when C's batch does, and the serving generation applied the new event.
    expect(serving.eventsApplied).toBe(1);
    expect(switched.activated).toEqual([]);
    // Its report says the deadline stopped it: the build is caught up and still waits for its switch.
    expect(switched.stoppedByDeadline).toBe(true);
    expect(tookMs).toBeLessThan(1_000 + SLOW_BATCH_MS / 2);
  });

  it('is not tried while a partition another instance builds has never reached the head: the run ends without waiting on that instance\'s batch', async () => {
    const { db, store, connect } = context();
    // Given version 1 serving, and version 2 registered to be built over two partitions, none yet at the head.
    for (let index = 0; index < 8; index++) {
      await store.appendToStream({ streamId: `sw-early-${index}`, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    }
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name: 'sw_early', version: 1 })] }).runUntilCaughtUp();
    await registerProjection(db, recordingProjection({ name: 'sw_early', version: 2, partitions: 2 }));

    // And instance C in its first, slow batch of the build.
    const { run: slowRun } = await inASlowBuildBatch(connect(2), 'sw_early');

    // When instance A builds the other partition, with three seconds to go.
    const startedAt = Date.now();
    const run = await createProjector({ db: connect(2), projections: [recordingProjection({ name: 'sw_early', version: 2, partitions: 2, instance: 'A' })], holder: 'A' })
      .runUntilCaughtUp({ deadline: startedAt + 3_000 });
    const tookMs = Date.now() - startedAt;
    const finished = await slowRun;

    // Then A ends without waiting on C's batch, and C switches the build in once it is caught up.
    expect({ activated: run.activated, stoppedByDeadline: run.stoppedByDeadline }).toEqual({ activated: [], stoppedByDeadline: false });
    expect(tookMs).toBeLessThan(1_500);
    expect(finished.activated).toEqual([{ name: 'sw_early', generation: 2 }]);
  });

  it('gives up at its deadline also when it waits on several build batches, one after another', async () => {
    const { db, url } = context();
    const serving = recordingProjection({ name: 'sw_batches', version: 1 });
    await createProjector({ db, projections: [serving] }).runUntilCaughtUp();
    const build = recordingProjection({ name: 'sw_batches', version: 2, partitions: 2 });
    const generation = (await registerProjection(db, build)).find((live) => live.status === 'building');
    // Its processor and partitions registered, by a run that ends before its first batch.
    await createProjector({ db, projections: [build] }).runUntilCaughtUp({ deadline: Date.now() });
    // Two batches under way, each holding its partition's checkpoint: they end at 0.8 and 1.9 s.
    const batches = await Promise.all([0, 1].map((partition) => batchHolding(url, processorNameOf('sw_batches', 2), partition)));
    const startedAt = Date.now();
    const ends = [setTimeout(() => void batches[0]?.end(), 800), setTimeout(() => void batches[1]?.end(), 1_900)];

    const { switched } = await activateIfCaughtUp(db, build, generation ?? never(), NO_UPCASTING, DEFAULT_FAILURE_POLICY, startedAt + 1_000);
    const tookMs = Date.now() - startedAt;
    for (const end of ends) clearTimeout(end);
    await Promise.all(batches.map((batch) => batch.end()));

    expect(switched).toBe(false);
    expect(tookMs).toBeLessThan(1_500);
  });

  it('gives up at its deadline also when it waits for the projection lock and then for a takeover under way', async () => {
    const { db, url } = context();
    await createProjector({ db, projections: [recordingProjection({ name: 'sw_takeover', version: 1 })] }).runUntilCaughtUp();
    const build = recordingProjection({ name: 'sw_takeover', version: 2 });
    const generation = (await registerProjection(db, build)).find((live) => live.status === 'building');
    await ensurePartitionLeaseRows(db, processorNameOf('sw_takeover', 2), 1);
    // Another registration or switch holds the projection's lock until 0.7 s; an acquirer
    // taking a build partition over holds its lease row until 6 s.
    const projectionLock = await rowsHeld(url, 'SELECT FROM projections WHERE name = $1 FOR UPDATE', ['sw_takeover']);
    const takeover = await rowsHeld(url, 'SELECT FROM partition_leases WHERE lease_group = $1 FOR UPDATE', [processorNameOf('sw_takeover', 2)]);
    const startedAt = Date.now();
    const ends = [setTimeout(() => void projectionLock.end(), 700), setTimeout(() => void takeover.end(), 6_000)];

    const { switched } = await activateIfCaughtUp(db, build, generation ?? never(), NO_UPCASTING, DEFAULT_FAILURE_POLICY, startedAt + 1_000);
    const tookMs = Date.now() - startedAt;
    for (const end of ends) clearTimeout(end);
    await Promise.all([projectionLock.end(), takeover.end()]);

    expect(switched).toBe(false);
    expect(tookMs).toBeLessThan(1_500);
  });

  it('switches under a deadline further off than PostgreSQL can wait for a lock (24.8 days)', async () => {
    const { db } = context();
    await createProjector({ db, projections: [recordingProjection({ name: 'sw_far', version: 1 })] }).runUntilCaughtUp();
    const run = await createProjector({ db, projections: [recordingProjection({ name: 'sw_far', version: 2 })] }).runUntilCaughtUp({ deadline: Date.now() + 30 * 24 * 3_600_000 });
    expect(run.activated).toEqual([{ name: 'sw_far', generation: 2 }]);
  });
});

const never = (): never => {
  throw new Error('the version bump registers a generation to build');
};

/** Rows `sql` locks, held by a transaction on another connection; `end` commits it. */
async function rowsHeld(url: string, sql: string, params: unknown[]): Promise<{ end: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(sql, params);
  let ended: Promise<void> | undefined;
  return { end: () => (ended ??= client.query('COMMIT').then(() => client.end())) };
}

/** A build batch under way on another connection, as it holds its partition's checkpoint row; `end` commits it. */
const batchHolding = (url: string, processor: string, partition: number) =>
  rowsHeld(url, 'SELECT FROM processor_partitions WHERE processor = $1 AND partition = $2 FOR UPDATE', [processor, partition]);
