import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createProjector, getProjectionStatus, rebuildProjection } from '../../core/projections';
import { deposited, openedThenDeposits, sleep, uniqueStreamId } from '../support/fixtures';
import { streamIdInPartition } from '../support/streamInPartition';
import { useProjectionDatabase } from './support/projectionDatabase';
import { readApplied, recordingProjection } from './support/recordingProjection';
import { runUntilNoLag } from './support/runUntilNoLag';

// Each spec has a database of its own: the recording projections read every account stream.
const contexts = [useProjectionDatabase(), useProjectionDatabase(), useProjectionDatabase(), useProjectionDatabase(), useProjectionDatabase(), useProjectionDatabase()] as const;

/** How many events each generation of the projection has applied, its partitions' together. */
async function appliedByGeneration(db: Parameters<typeof getProjectionStatus>[0], name: string): Promise<Record<number, number>> {
  const [status] = await getProjectionStatus(db, name);
  return Object.fromEntries((status?.generations ?? []).map((generation) => [generation.generation, generation.partitions.reduce((sum, partition) => sum + partition.eventsApplied, 0)]));
}

/** `pool`, each statement answered `delayMs` late: a turn then visits only a few partitions. */
const answeringLate = (pool: Db, delayMs: number): Db => ({
  query: async (text, params, options) => {
    await sleep(delayMs);
    return pool.query(text, params, options);
  },
  transaction: (work, options) => pool.transaction(work, options),
  close: () => pool.close(),
});

describe('builds in turns', () => {
  it('given a build whose turn ends after one partition caught up and before the other began, goes on building in the next turn and switches it in, rather than trying the switch and giving up', async () => {
    const { db, store } = contexts[0]();
    let slowNext = false;
    const projection = recordingProjection({
      name: 'turn_between_partitions',
      partitions: 2,
      batchSize: 5,
      beforeApply: async () => {
        if (!slowNext) return;
        slowNext = false;
        await sleep(500);
      },
    });
    const projector = createProjector({ db, projections: [projection], buildTurnMs: 300 });
    // Partition 0 is one batch; partition 1 twenty, more than the switch's own catch-up takes on.
    await store.appendToStream({ streamId: await streamIdInPartition(db, 0, 2), streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(3) });
    await store.appendToStream({ streamId: await streamIdInPartition(db, 1, 2), streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(100) });
    await runUntilNoLag(db, projector, projection.name);
    await rebuildProjection(db, projection);
    // The build's first batch outlasts the turn.
    slowNext = true;

    const run = await projector.runUntilCaughtUp();

    expect(run).toMatchObject({ activated: [{ name: 'turn_between_partitions', generation: 2 }], stoppedByDeadline: false });
    expect(await readApplied(db, projection)).toHaveLength(103);
  }, 60_000);

  it('given two projections rebuilding, gives each build turns of its own: the second does not wait for the first to switch in', async () => {
    const { db, store } = contexts[1]();
    let slow = false;
    const slowly = () => (slow ? sleep(15) : Promise.resolve());
    const first = recordingProjection({ name: 'first_rebuilt', batchSize: 10, beforeApply: slowly });
    const second = recordingProjection({ name: 'second_rebuilt', batchSize: 10, beforeApply: slowly });
    const projector = createProjector({ db, projections: [first, second], buildTurnMs: 300 });
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(400) });
    await runUntilNoLag(db, projector, first.name);
    await runUntilNoLag(db, projector, second.name);
    slow = true;
    await rebuildProjection(db, first);
    await rebuildProjection(db, second);

    // 400 events of 15 ms make a build of 6 s at least: far past this run.
    const run = await projector.runUntilCaughtUp({ deadline: Date.now() + 2_000 });

    expect(run).toMatchObject({ activated: [], stoppedByDeadline: true });
    const builtSoFar = { first: (await appliedByGeneration(db, first.name))[2] ?? 0, second: (await appliedByGeneration(db, second.name))[2] ?? 0 };
    expect(builtSoFar.first).toBeGreaterThan(0);
    expect(builtSoFar.second).toBeGreaterThan(0);
  }, 60_000);

  it('given turns shorter than a build\'s run takes to begin (1 ms), lengthens the turns that ended before a batch, so the build goes on and switches in rather than the run spinning for ever', async () => {
    const { db, store } = contexts[2]();
    const projection = recordingProjection({ name: 'tiny_turns', partitions: 2, batchSize: 10 });
    const projector = createProjector({ db, projections: [projection], buildTurnMs: 1 });
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(60) });
    await runUntilNoLag(db, projector, projection.name);
    await rebuildProjection(db, projection);

    const run = await projector.runUntilCaughtUp();

    expect(run.activated).toEqual([{ name: 'tiny_turns', generation: 2 }]);
    expect(await readApplied(db, projection)).toHaveLength(60);
  }, 30_000);

  it('given more partitions than a turn visits and writers appending all along, switches the build in once its turns together saw every partition caught up', async () => {
    const { db, store } = contexts[3]();
    const projection = recordingProjection({ name: 'many_partitions_busy', partitions: 8, batchSize: 10 });
    const projector = createProjector({ db, projections: [projection], buildTurnMs: 20 });
    const streams = await Promise.all(Array.from({ length: 8 }, (_, partition) => streamIdInPartition(db, partition, 8)));
    for (const streamId of streams) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(5) });
    await runUntilNoLag(db, projector, projection.name);
    await rebuildProjection(db, projection);
    let writing = true;
    const writers = Promise.all(
      streams.map(async (streamId) => {
        while (writing) {
          await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(1)] });
          // Busy enough that a turn seldom ends with its partition at the head, and slow enough
          // that the build, one partition a turn, outpaces the writers on a loaded runner.
          await sleep(100);
        }
      }),
    );

    // Bounded for the spec: with no deadline, a build that never switches in keeps the run going.
    const run = await projector.runUntilCaughtUp({ deadline: Date.now() + 20_000 });
    writing = false;
    await writers;
    await runUntilNoLag(db, projector, projection.name);

    expect(run.activated).toEqual([{ name: 'many_partitions_busy', generation: 2 }]);
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE stream_type = 'account'");
    expect(await readApplied(db, projection)).toHaveLength(rows[0]?.n ?? -1);
  }, 60_000);

  it('given one partition of a build failing once on a short backoff, goes on building the other partitions in its turns, retries the failed one once its backoff passed, and switches the build in within the run', async () => {
    const { db, store } = contexts[4]();
    let building = false;
    let failedOnce = false;
    const [longStream, shortStream] = [await streamIdInPartition(db, 0, 2), await streamIdInPartition(db, 1, 2)];
    const projection = recordingProjection({
      name: 'build_failing_once',
      partitions: 2,
      batchSize: 5,
      // Slow enough that the long partition takes several turns.
      beforeApply: () => (building ? sleep(10) : Promise.resolve()),
      failOn: (event) => building && event.streamId === shortStream && !failedOnce && (failedOnce = true),
    });
    const projector = createProjector({ db, projections: [projection], buildTurnMs: 300, failurePolicy: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 100 } });
    await store.appendToStream({ streamId: longStream, streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(200) });
    await store.appendToStream({ streamId: shortStream, streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(3) });
    await runUntilNoLag(db, projector, projection.name);
    await rebuildProjection(db, projection);
    building = true;

    const run = await projector.runUntilCaughtUp({ deadline: Date.now() + 25_000 });

    expect(failedOnce).toBe(true);
    expect(run).toMatchObject({ activated: [{ name: 'build_failing_once', generation: 2 }], stoppedByDeadline: false });
    expect(await readApplied(db, projection)).toHaveLength(203);
  }, 60_000);

  it('given a build partition failed for good and more partitions than a turn visits, ends the run once a turn gets nothing done, rather than cutting turns until the deadline', async () => {
    const { db, store } = contexts[5]();
    let building = false;
    const failing = await streamIdInPartition(db, 0, 32);
    const projection = recordingProjection({ name: 'build_failed_for_good', partitions: 32, failOn: (event) => building && event.streamId === failing });
    await store.appendToStream({ streamId: failing, streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(2) });
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(2) });
    await runUntilNoLag(db, createProjector({ db, projections: [projection] }), projection.name);
    await rebuildProjection(db, projection);
    building = true;
    // Each statement 10 ms late: a turn of at most a second visits a few of the 32 partitions.
    const projector = createProjector({ db: answeringLate(db, 10), projections: [projection], buildTurnMs: 300, failurePolicy: { maxAttempts: 1, baseDelayMs: 100, maxDelayMs: 100 } });
    const deadline = Date.now() + 40_000;

    const run = await projector.runUntilCaughtUp({ deadline });

    expect(run).toMatchObject({ activated: [], stoppedByDeadline: false });
    expect(deadline - Date.now()).toBeGreaterThan(10_000);
    const [status] = await getProjectionStatus(db, projection.name);
    expect(status?.generations.find((generation) => generation.generation === 2)?.partitions[0]?.state).toBe('failed');
  }, 60_000);
});
