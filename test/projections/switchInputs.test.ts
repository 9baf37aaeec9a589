import { describe, expect, it } from 'vitest';
import { NO_UPCASTING } from '../../core/eventstore';
import { DEFAULT_FAILURE_POLICY, ProcessorDefinitionError } from '../../core/processing';
import { activateIfCaughtUp, createProjector, generationTableName, getProjectionStatus, ProjectionDefinitionError, registerProjection } from '../../core/projections';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { recordingProjection } from './support/recordingProjection';

const context = useProjectionDatabase();

/** `name` serving at v1 over two accounts' events, and its v2 registered to be built: the build. */
async function buildOfVersion2(name: string) {
  const { db, store } = context();
  for (const account of ['a', 'b']) {
    await store.appendToStream({ streamId: `${name}-${account}`, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
  }
  await untilFeedHorizonPasses(db);
  await createProjector({ db, projections: [recordingProjection({ name, version: 1, instance: 'v1-code' })] }).runUntilCaughtUp();
  const [build] = await registerProjection(db, recordingProjection({ name, version: 2 }));
  if (build?.status !== 'building') throw new Error(`v2 of ${name} is not building`);
  return build;
}

describe('switching a build in by hand (activateIfCaughtUp)', () => {
  it('given the code of another version than the build\'s, is refused, and nothing is applied or switched', async () => {
    const { db } = context();
    const build = await buildOfVersion2('mixed');

    const refusal = await activateIfCaughtUp(db, recordingProjection({ name: 'mixed', version: 1, instance: 'v1-code' }), build, NO_UPCASTING, DEFAULT_FAILURE_POLICY).catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(ProjectionDefinitionError);
    expect(String(refusal)).toContain('generation 2 of mixed is built by v2 code, over 1 partitions; this is v1 code, over 1');
    expect((await getProjectionStatus(db, 'mixed'))[0]?.activeGeneration).toBe(1);
    const { rows } = await db.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${generationTableName('mixed', 'applied', 2)}`);
    expect(rows[0]?.count).toBe(0);
  });

  it('given a deadline that is no number (an unset variable added to now), is refused before it locks anything', async () => {
    const { db } = context();
    const build = await buildOfVersion2('nan_switch');

    const refusal = activateIfCaughtUp(db, recordingProjection({ name: 'nan_switch', version: 2 }), build, NO_UPCASTING, DEFAULT_FAILURE_POLICY, Date.now() + Number(undefined));

    await expect(refusal).rejects.toBeInstanceOf(ProcessorDefinitionError);
    expect((await getProjectionStatus(db, 'nan_switch'))[0]?.activeGeneration).toBe(1);
  });
});
