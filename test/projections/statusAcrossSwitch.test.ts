import { describe, expect, it } from 'vitest';
import type { Db, Queryable, QueryOptions } from '../../core/db';
import { NO_UPCASTING } from '../../core/eventstore';
import { DEFAULT_FAILURE_POLICY } from '../../core/processing';
import { activateIfCaughtUp, createProjector, getProjectionStatus, registerProjection, type ProjectionStatus } from '../../core/projections';
import { deferred, deposited, opened, uniqueStreamId } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { useProjectionDatabase } from './support/projectionDatabase';
import { recordingProjection } from './support/recordingProjection';

// The status's first statement: the projections and their live generations.
const GENERATIONS_READ = /FROM projections pr JOIN projection_generations g/;

/** A Db whose reader stops once the generations are read, on the pool or in a transaction, until `resume`. */
function pausedAfterGenerationsRead(db: Db) {
  const paused = deferred();
  const resumed = deferred();
  let pausedOnce = false;
  const watched = (queryable: Queryable): Queryable => ({
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
      const answer = await queryable.query<Row>(text, params, options);
      if (!pausedOnce && GENERATIONS_READ.test(text)) {
        pausedOnce = true;
        paused.resolve();
        await resumed.promise;
      }
      return answer;
    },
  });
  const reader: Db = { ...watched(db), transaction: (work) => db.transaction((tx) => work(watched(tx))), close: () => db.close() };
  return { reader, paused: paused.promise, resume: resumed.resolve };
}

const build = (status: ProjectionStatus | undefined, generation: number) => status?.generations.find((progress) => progress.generation === generation);
const applied = (status: ProjectionStatus | undefined, generation: number) => build(status, generation)?.partitions.reduce((sum, partition) => sum + partition.eventsApplied, 0);
const lagging = (status: ProjectionStatus | undefined, generation: number) => build(status, generation)?.partitions.reduce((sum, partition) => sum + partition.lagEvents, 0);

describe('a projection’s status read while reads switch to a new generation', () => {
  const context = useProjectionDatabase();

  it('shows the projection wholly as it was before the switch, or wholly after: never a build past what its record says', async () => {
    const { db, store, connect } = context();
    const name = 'status_across_switch';
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5), deposited(7)] });
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name, version: 1 })] }).runUntilCaughtUp();
    const v2 = recordingProjection({ name, version: 2 });
    const [building] = await registerProjection(db, v2);
    if (!building) throw new Error('v2 has no build');
    const [before] = await getProjectionStatus(db, name);
    expect(build(before, building.generation)).toMatchObject({ status: 'building' });
    expect(lagging(before, building.generation)).toBe(3);

    const { reader, paused, resume } = pausedAfterGenerationsRead(connect(1));
    const reading = getProjectionStatus(reader, name);
    await paused;
    // The switch catches the build up on the three events and commits while the status is half read.
    expect(await activateIfCaughtUp(db, v2, building, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).toMatchObject({ switched: true });
    resume();
    const [across] = await reading;

    expect(across?.activeGeneration).toBe(before?.activeGeneration);
    expect(build(across, building.generation)).toMatchObject({ status: 'building', partitionsCaughtUp: 0 });
    expect(applied(across, building.generation)).toBe(0);
    expect(lagging(across, building.generation)).toBe(3);
    const [after] = await getProjectionStatus(db, name);
    expect(after?.activeGeneration).toBe(building.generation);
    expect(applied(after, building.generation)).toBe(3);
  });
});
