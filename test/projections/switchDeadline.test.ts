import { describe, expect, it } from 'vitest';
import { createProjector, registerProjection } from '../../core/projections';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, sleep } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { recordingProjection } from './support/recordingProjection';

const context = useProjectionDatabase();

// How long another instance's build batch takes: far past the switching run's deadline.
const SLOW_BATCH_MS = 5_000;

describe('a switch that finds another instance in a build batch', () => {
  it('gives up at its run’s deadline, and the serving generation goes on applying events meanwhile', async () => {
    const { db, store, connect } = context();
    // Given version 1 serving, and version 2 registered to be built, over two partitions.
    for (let index = 0; index < 8; index++) {
      await store.appendToStream({ streamId: `sw-${index}`, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    }
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name: 'sw', version: 1 })] }).runUntilCaughtUp();
    await registerProjection(db, recordingProjection({ name: 'sw', version: 2, partitions: 2 }));
    await store.appendToStream({ streamId: 'sw-0', streamType: 'account', expectedVersion: 2, events: [deposited(2)] });
    await untilFeedHorizonPasses(db);

    // And instance C in a slow batch of the build.
    const slowBatchStarted = deferred();
    let slowed = false;
    const slowBuild = recordingProjection({
      name: 'sw', version: 2, partitions: 2, instance: 'C',
      beforeApply: async () => {
        if (slowed) return;
        slowed = true;
        slowBatchStarted.resolve();
        await sleep(SLOW_BATCH_MS);
      },
    });
    const slowRun = createProjector({ db: connect(2), projections: [slowBuild], holder: 'C' }).runUntilCaughtUp({ deadline: Date.now() + 30_000 });
    await slowBatchStarted.promise;

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
    expect(tookMs).toBeLessThan(1_000 + SLOW_BATCH_MS / 2);
  });
});
