import { describe, expect, it } from 'vitest';
import { createProjector, getProjectionStatus, ProjectionSupersededError, ProjectorRunError, registerProjection } from '../../core/projections';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { useProjectionDatabase } from './support/projectionDatabase';
import { readApplied, recordingProjection } from './support/recordingProjection';

/** The run's failure for the projection named, when the run threw a ProjectorRunError. */
async function refusalOf(running: Promise<unknown>, name: string): Promise<ProjectionSupersededError | undefined> {
  const thrown = await running.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(ProjectorRunError);
  const errors = (thrown as ProjectorRunError).errors as unknown[];
  return errors.find((error): error is ProjectionSupersededError => error instanceof ProjectionSupersededError && error.projection === name);
}

describe('a projector whose code is older than every live generation of its projection', () => {
  const context = useProjectionDatabase();

  it('rolled back past a switch, fails its run naming the projection, what serves it and the version to deploy, and the other projections still run', async () => {
    const { db, store } = context();
    const name = 'rolled_back';
    await createProjector({ db, projections: [recordingProjection({ name, version: 1 })] }).runUntilCaughtUp();
    await createProjector({ db, projections: [recordingProjection({ name, version: 2 })] }).runUntilCaughtUp();
    const healthy = recordingProjection({ name: 'rolled_back_neighbour' });
    await registerProjection(db, healthy);
    const { events } = await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5)] });
    await untilFeedHorizonPasses(db);

    // The deploy is rolled back: version 1's code runs again, and version 2 serves.
    const refusal = await refusalOf(createProjector({ db, projections: [recordingProjection({ name, version: 1 }), healthy] }).runUntilCaughtUp(), name);

    expect(refusal).toMatchObject({ code: 'PROJECTION_SUPERSEDED', codeVersion: 1, nextVersion: 3, live: [{ generation: 2, version: 2, status: 'active' }] });
    expect(refusal?.message).toMatch(/rolled_back is v1 in this code, but no generation of v1 is live \(g2 v2 active\).*numbered v3 or above/);
    expect((await readApplied(db, healthy)).map((row) => row.event_id)).toEqual(expect.arrayContaining(events.map((event) => event.eventId)));
  });

  it('left behind by a newer canary withdrawn mid-build, fails its run naming what serves and what builds', async () => {
    const { db } = context();
    const name = 'canary_withdrawn';
    await registerProjection(db, recordingProjection({ name, version: 1 }));
    await registerProjection(db, recordingProjection({ name, version: 2 }));
    // A version 3 canary registers once, retiring version 2's build for its own, and is withdrawn.
    await registerProjection(db, recordingProjection({ name, version: 3 }));

    const refusal = await refusalOf(createProjector({ db, projections: [recordingProjection({ name, version: 2 })] }).runUntilCaughtUp(), name);

    expect(refusal).toMatchObject({
      codeVersion: 2,
      nextVersion: 4,
      live: [
        { generation: 1, version: 1, status: 'active' },
        { generation: 3, version: 3, status: 'building' },
      ],
    });
    expect(refusal?.message).toMatch(/If v3's code is being deployed, its build switches in once caught up; if not, deploy the code of a live version, or this code numbered v4 or above/);
  });

  it('running since before a newer canary retired its build, fails its run once the canary is withdrawn, though it registered while its build was live', async () => {
    const { db, store } = context();
    const name = 'canary_outlived';
    await createProjector({ db, projections: [recordingProjection({ name, version: 1 })] }).runUntilCaughtUp();
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    // Version 2's build fails for now, so it does not switch in.
    let failing = true;
    const warm = createProjector({ db, projections: [recordingProjection({ name, version: 2, failOn: () => failing })] });
    await warm.runUntilCaughtUp({ deadline: Date.now() + 500 }).catch(() => undefined);
    failing = false;
    // A version 3 canary registers once, retiring version 2's build for its own, and is withdrawn.
    await registerProjection(db, recordingProjection({ name, version: 3 }));

    const refusal = await refusalOf(warm.runUntilCaughtUp(), name);

    expect(refusal).toMatchObject({ codeVersion: 2, nextVersion: 4 });
  });

  it('still running through a rollout, registered before the newer version switched in, ends its turns quietly from then on', async () => {
    const { db, store } = context();
    const name = 'rolled_out';
    const v1 = recordingProjection({ name, version: 1 });
    const oldInstance = createProjector({ db, projections: [v1] });
    await oldInstance.runUntilCaughtUp();
    await createProjector({ db, projections: [recordingProjection({ name, version: 2 })] }).runUntilCaughtUp();
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);

    await expect(oldInstance.runUntilCaughtUp()).resolves.toMatchObject({ eventsApplied: 0, batches: 0 });
  });

  it('during a deploy, while the newer version builds beside it, keeps its own serving generation up to date', async () => {
    const { db, store } = context();
    const name = 'deploy_under_way';
    const v1 = recordingProjection({ name, version: 1 });
    await registerProjection(db, v1);
    await registerProjection(db, recordingProjection({ name, version: 2 }));
    const { events } = await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);

    await createProjector({ db, projections: [v1] }).runUntilCaughtUp();

    expect((await readApplied(db, v1)).map((row) => row.event_id)).toEqual(expect.arrayContaining(events.map((event) => event.eventId)));
    const [status] = await getProjectionStatus(db, name);
    expect(status?.generations.map((generation) => [generation.generation, generation.status])).toEqual([[1, 'active'], [2, 'building']]);
  });
});
