import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { START_OF_FEED } from '../../core/eventstore';
import type { HandlerFailure } from '../../core/processing';
import { createProjector, processorNameOf, rebuildProjection, type Projection } from '../../core/projections';
import { expireLeases } from '../support/expireLeases';
import { deferred } from '../support/fixtures';
import { readThrough } from '../support/followFeed';
import { untilLockWaiters } from '../support/lockWaiters';
import { statementTimesOut } from '../support/statementTimesOut';
import { useProjectionDatabase } from './support/projectionDatabase';
import { appendAcrossStreams, recordingProjection } from './support/recordingProjection';

// Held by the spec: the stalled instance's pool of one waits on it once its first batch has committed.
const STALL_KEY = 515_151;

describe('a projector run that stalls past its lease', () => {
  const context = useProjectionDatabase();

  /**
   * A projector on a pool of one whose run stalls after its first batch (of one
   * event): a statement queued on its only connection waits on the spec's lock.
   */
  function stallingAfterFirstBatch(projection: (beforeApply: () => Promise<void>) => Projection, pool: (db: Db) => Db = (db) => db) {
    const stalledDb = pool(context().connect(1));
    const firstBatch = deferred();
    let stalled = false;
    const failures: HandlerFailure[] = [];
    const projector = createProjector({
      db: stalledDb,
      projections: [
        projection(() => {
          if (!stalled) {
            stalled = true;
            // Queued behind this batch's transaction: it takes the connection once the batch commits.
            void stalledDb.query('SELECT pg_advisory_lock_shared($1), pg_advisory_unlock_shared($1)', [STALL_KEY]);
            firstBatch.resolve();
          }
          return Promise.resolve();
        }),
      ],
      holder: 'stalled',
      leaseTtlMs: 60_000,
      onHandlerError: (failure) => failures.push(failure),
    });
    return { projector, firstBatch: firstBatch.promise, failures };
  }

  async function holdingTheStall<T>(work: (release: () => Promise<void>) => Promise<T>): Promise<T> {
    const stall = new pg.Client({ connectionString: context().url });
    await stall.connect();
    try {
      await stall.query('SELECT pg_advisory_lock($1)', [STALL_KEY]);
      return await work(async () => {
        await stall.query('SELECT pg_advisory_unlock($1)', [STALL_KEY]);
      });
    } finally {
      await stall.end();
    }
  }

  it('given another instance taking its partition over meanwhile, tells in its run which partition it lost', async () => {
    const { db, store, url } = context();
    const appended = await appendAcrossStreams(store, ['stall-1'], 3, 3);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    const stalled = stallingAfterFirstBatch((beforeApply) => recordingProjection({ name: 'stalled_projector', batchSize: 1, beforeApply }));
    const taker = createProjector({ db, projections: [recordingProjection({ name: 'stalled_projector', batchSize: 1 })], holder: 'taker', leaseTtlMs: 60_000 });

    const [lost, taken] = await holdingTheStall(async (release) => {
      const run = stalled.projector.runUntilCaughtUp({ deadline: Date.now() + 30_000 });
      await stalled.firstBatch;
      await untilLockWaiters(url, 'some');
      // Its lease runs out (as after a lease's time of stall), and another instance takes the partition over.
      await expireLeases(db, processorNameOf('stalled_projector', 1));
      const takenOver = await taker.runUntilCaughtUp({ deadline: Date.now() + 10_000 });
      await release();
      return [await run, takenOver];
    });

    expect(taken.eventsApplied).toBe(2);
    expect({ applied: lost.eventsApplied, leaseLost: lost.leaseLost, failures: stalled.failures }).toEqual({
      applied: 1,
      leaseLost: [{ name: 'stalled_projector', generation: 1, partition: 0 }],
      failures: [],
    });
  });

  it('given a rebuild switched in meanwhile, retiring the generation it ran, tells no lease lost', async () => {
    const { db, store, url } = context();
    const appended = await appendAcrossStreams(store, ['stall-2'], 3, 3);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    const stalled = stallingAfterFirstBatch((beforeApply) => recordingProjection({ name: 'switched_projector', batchSize: 1, beforeApply }));
    const rebuilt = recordingProjection({ name: 'switched_projector', batchSize: 1 });
    const builder = createProjector({ db, projections: [rebuilt], holder: 'builder', leaseTtlMs: 60_000 });

    const [fenced, built] = await holdingTheStall(async (release) => {
      const run = stalled.projector.runUntilCaughtUp({ deadline: Date.now() + 30_000 });
      await stalled.firstBatch;
      await untilLockWaiters(url, 'some');
      await rebuildProjection(db, rebuilt);
      const switched = await builder.runUntilCaughtUp({ deadline: Date.now() + 10_000 });
      await release();
      return [await run, switched];
    });

    expect(built.activated).toEqual([{ name: 'switched_projector', generation: 2 }]);
    expect(fenced.leaseLost).toEqual([]);
  });

  it('given its partition taken over and its read of the live generations timing out afterwards, still returns its run, listing the loss', async () => {
    const { db, store, url } = context();
    const appended = await appendAcrossStreams(store, ['stall-3'], 3, 3);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    let liveReadTimesOut = false;
    const stalled = stallingAfterFirstBatch(
      (beforeApply) => recordingProjection({ name: 'slow_after_stall', batchSize: 1, beforeApply }),
      (pool) => statementTimesOut(pool, (text) => liveReadTimesOut && text.includes("g.status <> 'retired'")),
    );
    const taker = createProjector({ db, projections: [recordingProjection({ name: 'slow_after_stall', batchSize: 1 })], holder: 'taker', leaseTtlMs: 60_000 });

    const lost = await holdingTheStall(async (release) => {
      const run = stalled.projector.runUntilCaughtUp({ deadline: Date.now() + 30_000 });
      await stalled.firstBatch;
      await untilLockWaiters(url, 'some');
      await expireLeases(db, processorNameOf('slow_after_stall', 1));
      await taker.runUntilCaughtUp({ deadline: Date.now() + 10_000 });
      // The database that stalled the run is still slow when it resumes.
      liveReadTimesOut = true;
      await release();
      return run;
    });

    expect({ applied: lost.eventsApplied, leaseLost: lost.leaseLost }).toEqual({ applied: 1, leaseLost: [{ name: 'slow_after_stall', generation: 1, partition: 0 }] });
  });
});
