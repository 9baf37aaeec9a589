import { describe, expect, it } from 'vitest';
import { createProjector, generationTableName, quoteIdentifier } from '../../core/projections';
import { deferred, deposited, opened, uniqueStreamId } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { pausingAtTheSwitch } from './support/pausingAtTheSwitch';
import { useProjectionDatabase } from './support/projectionDatabase';
import { recordingProjection } from './support/recordingProjection';

const context = useProjectionDatabase();

describe("a projector run whose build's switch applies what arrived since the build caught up", () => {
  it('counts those events in its report, beside those its batches applied', async () => {
    const { db, store, connect } = context();
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name: 'switch_report', version: 1 })] }).runUntilCaughtUp();
    // A deposit written before the switch begins, committed only once it holds the projection's lock:
    // the build's batches cannot see it, and the switch must apply it itself.
    const writerDb = connect(1);
    const written = deferred();
    const commit = deferred();
    const depositing = writerDb.transaction(async (tx) => {
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 2, events: [deposited(2)] }, tx);
      written.resolve();
      await commit.promise;
    });
    await written.promise;
    const projector = createProjector({
      db: pausingAtTheSwitch(connect(2), async () => {
        commit.resolve();
        await depositing;
        // The feed's horizon is the cluster's: another test file's open transaction may hold it back a moment.
        await untilFeedHorizonPasses(db);
      }),
      projections: [recordingProjection({ name: 'switch_report', version: 2 })],
    });

    let run;
    try {
      run = await projector.runUntilCaughtUp({ deadline: Date.now() + 20_000 });
    } finally {
      commit.resolve();
      await depositing;
    }

    const table = quoteIdentifier(generationTableName('switch_report', 'applied', 2));
    const { rows } = await db.query<{ version: number }>(`SELECT version FROM ${table} ORDER BY seq`);
    expect(rows.map((row) => row.version)).toEqual([1, 2, 3]);
    expect(run).toEqual({ eventsApplied: 3, batches: 2, activated: [{ name: 'switch_report', generation: 2 }], stoppedByDeadline: false, leaseLost: [] });
  });
});
