import { describe, expect, it } from 'vitest';
import { NO_UPCASTING } from '../../core/eventstore';
import { DEFAULT_FAILURE_POLICY } from '../../core/processing';
import { activateIfCaughtUp, createProjector, getProjectionStatus, registerProjection } from '../../core/projections';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { recordingProjection } from './support/recordingProjection';

// A database of its own: the switch must find exactly these three events to catch up on.
const context = useProjectionDatabase();

describe('a switch whose catch-up runs a statement that begins before its deadline', () => {
  it('gives up, rolled back, rather than let the statement run past the deadline', async () => {
    const { db, store } = context();
    await store.appendToStream({ streamId: 'late-0', streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name: 'late', version: 1 })] }).runUntilCaughtUp();
    // The switch catches the build up in two batches of two: the first takes 700 ms, and
    // the second's handler runs a 600 ms statement, begun before the deadline (1 s away).
    let applied = 0;
    const build = recordingProjection({
      name: 'late',
      version: 2,
      batchSize: 2,
      beforeApply: async (tx) => {
        applied += 1;
        if (applied === 1) await sleep(700);
        if (applied === 3) await tx.query('SELECT pg_sleep(0.6)');
      },
    });
    const [generation] = await registerProjection(db, build);
    if (generation?.status !== 'building') throw new Error('the version bump registers a generation to build');
    const deadline = Date.now() + 1_000;

    const switched = await activateIfCaughtUp(db, build, generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY, deadline);

    expect({ applied, switched }).toEqual({ applied: 3, switched: false });
    // The statement was cut at the deadline, not at its end 300 ms later.
    expect(Date.now() - deadline).toBeLessThan(280);
    const [status] = await getProjectionStatus(db, 'late');
    expect(status?.activeGeneration).toBe(1);
  });
});
