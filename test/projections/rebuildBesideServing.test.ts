import { describe, expect, it } from 'vitest';
import { createProjector, getProjectionStatus, rebuildProjection, type Projection, type ProjectorRun } from '../../core/projections';
import { opened, openedThenDeposits, sleep, uniqueStreamId } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { readApplied, recordingProjection } from './support/recordingProjection';
import { runUntilNoLag } from './support/runUntilNoLag';

const context = useProjectionDatabase();

// Each application of the rebuilt projection takes this long once its rebuild starts:
// 200 events make a build of 5 s at least, many of the projector's build turns.
const SLOW_APPLY_MS = 25;
const EVENTS = 200;
const BUILD_TURN_MS = 300;

/** Given `rebuilt` and `other` caught up over EVENTS events, and `rebuilt`'s rebuild requested and made slow; `appendLate` appends one more event. */
async function rebuildingBesideOther(names: { rebuilt: string; other: string }) {
  const { db, store } = context();
  let slow = false;
  const rebuilt = recordingProjection({ name: names.rebuilt, batchSize: 20, beforeApply: () => (slow ? sleep(SLOW_APPLY_MS) : Promise.resolve()) });
  const other = recordingProjection({ name: names.other, batchSize: 20 });
  const projector = createProjector({ db, projections: [rebuilt, other], buildTurnMs: BUILD_TURN_MS });
  await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: openedThenDeposits(EVENTS) });
  await runUntilNoLag(db, projector, names.rebuilt);
  await runUntilNoLag(db, projector, names.other);
  slow = true;
  await rebuildProjection(db, rebuilt);
  const appendLate = async () =>
    (await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] })).events[0]?.eventId ?? '';
  return { db, projector, rebuilt, other, appendLate };
}

const serving = async (projectionName: string) => (await getProjectionStatus(context().db, projectionName))[0]?.activeGeneration;
const holds = async (projection: Projection<'applied'>, eventId: string) => (await readApplied(context().db, projection)).some((row) => row.event_id === eventId);

describe('a projection rebuilding beside the generations that serve reads', () => {
  it('given a run with no deadline (the dev server\'s loop), keeps the serving generation and the other projections following the feed while the build runs, in turns', async () => {
    const { projector, rebuilt, other, appendLate } = await rebuildingBesideOther({ rebuilt: 'rebuilt_in_turns', other: 'beside_turns' });

    const running = projector.runUntilCaughtUp();
    // Appended once the build is under way, to be applied by the serving generations in one of their turns.
    await sleep(2 * BUILD_TURN_MS);
    expect(await serving(rebuilt.name)).toBe(1);
    const lateEventId = await appendLate();
    let seenWhileBuilding: { rebuilt: boolean; other: boolean } = { rebuilt: false, other: false };
    let ended: ProjectorRun | undefined;
    void running.then((run) => {
      ended = run;
    });
    while (!ended && !(seenWhileBuilding.rebuilt && seenWhileBuilding.other)) {
      // Read from the first generation only while it still serves: after the switch, the build's own catch-up applies it.
      const found = { rebuilt: await holds(rebuilt, lateEventId), other: await holds(other, lateEventId) };
      if ((await serving(rebuilt.name)) === 1) seenWhileBuilding = { rebuilt: seenWhileBuilding.rebuilt || found.rebuilt, other: seenWhileBuilding.other || found.other };
      await sleep(50);
    }
    const run = await running;

    expect(seenWhileBuilding).toEqual({ rebuilt: true, other: true });
    expect(run.activated).toEqual([{ name: 'rebuilt_in_turns', generation: 2 }]);
    expect(await holds(rebuilt, lateEventId)).toBe(true);
    expect(await readApplied(context().db, rebuilt)).toHaveLength(EVENTS + 1);
  }, 60_000);

  it('given a run with a deadline shorter than the build (a Lambda\'s), brings the other projections and its own serving generation up to date before the build has its turn', async () => {
    const { projector, rebuilt, other, appendLate } = await rebuildingBesideOther({ rebuilt: 'rebuilt_past_deadline', other: 'beside_deadline' });
    const lateEventId = await appendLate();

    // Shorter than the build, which takes 5 s at least; long enough for both serving turns on a loaded runner.
    const run = await projector.runUntilCaughtUp({ deadline: Date.now() + 2_500 });

    expect(run).toMatchObject({ stoppedByDeadline: true, activated: [] });
    expect(await serving(rebuilt.name)).toBe(1);
    expect({ rebuilt: await holds(rebuilt, lateEventId), other: await holds(other, lateEventId) }).toEqual({ rebuilt: true, other: true });
  }, 60_000);
});
