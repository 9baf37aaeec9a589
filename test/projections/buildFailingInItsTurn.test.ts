import { describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../core/db';
import { createProjector, getProjectionStatus, ProjectorRunError, rebuildProjection } from '../../core/projections';
import { deposited, openedThenDeposits, uniqueStreamId } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { useProjectionDatabase } from './support/projectionDatabase';
import { readApplied, recordingProjection } from './support/recordingProjection';
import { runUntilNoLag } from './support/runUntilNoLag';

const context = useProjectionDatabase();

const SWITCH_STATEMENT = /UPDATE projection_generations SET status = 'active'/;

/** `pool`, whose statement making a build of `projection` serve fails while `failing()` says so, as a connection lost mid-switch would. */
function switchFailsWhile(pool: Db, projection: string, failing: () => boolean): Db {
  const failingOn = (queryable: Queryable): Queryable => ({
    query: (text, params, options) =>
      failing() && SWITCH_STATEMENT.test(text) && params?.[0] === projection ? Promise.reject(new Error('connection lost mid-switch')) : queryable.query(text, params, options),
  });
  return {
    query: (text, params, options) => failingOn(pool).query(text, params, options),
    transaction: (work, options) => pool.transaction((tx) => work(failingOn(tx)), options),
    close: () => pool.close(),
  };
}

describe('a build failing in its turn', () => {
  it('given two projections rebuilding and the first one\'s switch failing, when a run runs, then the second switches in, the first keeps serving its old generation, and the run throws naming the first only; the next run switches it in', async () => {
    const { db, store } = context();
    let switchFails = true;
    const first = recordingProjection({ name: 'switch_fails', batchSize: 10 });
    const second = recordingProjection({ name: 'switch_holds', batchSize: 10 });
    const projector = createProjector({ db: switchFailsWhile(db, first.name, () => switchFails), projections: [first, second], buildTurnMs: 300 });
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(20) });
    switchFails = false;
    await runUntilNoLag(db, projector, first.name);
    await runUntilNoLag(db, projector, second.name);
    switchFails = true;
    await rebuildProjection(db, first);
    await rebuildProjection(db, second);
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(5)] });
    await untilFeedHorizonPasses(db);

    const failed = await projector.runUntilCaughtUp().then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failed).toBeInstanceOf(ProjectorRunError);
    expect((failed as ProjectorRunError).message).toBe('1 of 2 failed, the others ran: switch_fails: Error: connection lost mid-switch');
    expect((failed as ProjectorRunError).run.activated).toEqual([{ name: 'switch_holds', generation: 2 }]);
    const [firstStatus] = await getProjectionStatus(db, first.name);
    expect(firstStatus?.generations.map(({ generation, status }) => ({ generation, status }))).toEqual([
      { generation: 1, status: 'active' },
      { generation: 2, status: 'building' },
    ]);
    // The old generation went on serving: it has the event appended after the rebuild was asked for.
    expect(await readApplied(db, first)).toHaveLength(21);

    switchFails = false;
    const next = await projector.runUntilCaughtUp();

    expect(next.activated).toEqual([{ name: 'switch_fails', generation: 2 }]);
    expect(await readApplied(db, first)).toHaveLength(21);
    expect(await readApplied(db, second)).toHaveLength(21);
  }, 60_000);
});
