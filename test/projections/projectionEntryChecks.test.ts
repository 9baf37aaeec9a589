import { describe, expect, it } from 'vitest';
import { NO_UPCASTING, type EventShape } from '../../core/eventstore';
import { DEFAULT_FAILURE_POLICY } from '../../core/processing';
import {
  activateIfCaughtUp,
  createProjectionReader,
  defineProjection,
  getProjectionStatus,
  ProjectionDefinitionError,
  rebuildProjection,
  registerProjection,
  type Generation,
  type Projection,
} from '../../core/projections';
import { useProjectionDatabase } from './support/projectionDatabase';

const counted = (name: string, partitions = 1): Projection<'seen'> =>
  defineProjection<EventShape>()({
    name,
    version: 1,
    partitions,
    tables: ['seen'],
    setup: async (tx, { seen }) => {
      await tx.query(`CREATE TABLE ${seen} (event_id uuid PRIMARY KEY)`);
    },
    handlers: {
      AccountOpened: async (event, { tx, tables }) => {
        await tx.query(`INSERT INTO ${tables.seen} (event_id) VALUES ($1)`, [event.eventId]);
      },
    },
  });

describe('the projection functions, given from plain JavaScript what the types rule out', () => {
  const context = useProjectionDatabase();

  it('given what is no projection, refuse it with a ProjectionDefinitionError naming the function, and write nothing', async () => {
    const { db } = context();
    const [generation] = await registerProjection(db, counted('entry_checked'));
    if (!generation) throw new Error('the projection has its first generation');

    for (const given of [undefined, null, {}, { name: 'entry_checked' }]) {
      const notAProjection = given as unknown as Projection<'seen'>;
      await expect(registerProjection(db, notAProjection), JSON.stringify(given)).rejects.toThrow(new ProjectionDefinitionError('registerProjection needs a projection (defineProjection)'));
      await expect(rebuildProjection(db, notAProjection)).rejects.toThrow(new ProjectionDefinitionError('rebuildProjection needs a projection (defineProjection)'));
      expect(() => createProjectionReader(db, notAProjection)).toThrow(new ProjectionDefinitionError('createProjectionReader needs a projection (defineProjection)'));
      await expect(activateIfCaughtUp(db, notAProjection, generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).rejects.toThrow(ProjectionDefinitionError);
    }
    const { rows } = await db.query<{ name: string; generation: number }>('SELECT name, generation FROM projection_generations ORDER BY name, generation');
    expect(rows).toEqual([{ name: 'entry_checked', generation: 1 }]);
  });

  it('given options that are no object, or a null bound (a config value left unset), registerProjection and rebuildProjection refuse them with a ProjectionDefinitionError, and write nothing', async () => {
    const { db } = context();
    const projection = counted('options_checked');

    for (const given of [null, 'idle', 5_000]) {
      const options = given as unknown as { idleTimeoutMs?: number };
      await expect(registerProjection(db, projection, options), String(given)).rejects.toThrow(
        new ProjectionDefinitionError('registerProjection: options must be an object: { idleTimeoutMs }'),
      );
      await expect(rebuildProjection(db, projection, options), String(given)).rejects.toThrow(
        new ProjectionDefinitionError('rebuildProjection: options must be an object: { idleTimeoutMs }'),
      );
    }
    const unsetBound = { idleTimeoutMs: null } as unknown as { idleTimeoutMs?: number };
    await expect(registerProjection(db, projection, unsetBound)).rejects.toThrow(
      new ProjectionDefinitionError('registerProjection: idleTimeoutMs must be left out or a number of milliseconds, not null'),
    );
    await expect(rebuildProjection(db, projection, unsetBound)).rejects.toThrow(
      new ProjectionDefinitionError('rebuildProjection: idleTimeoutMs must be left out or a number of milliseconds, not null'),
    );
    const { rows } = await db.query('SELECT 1 FROM projection_generations WHERE name = $1', ['options_checked']);
    expect(rows).toEqual([]);
  });

  it('given no generation, or no upcaster, activateIfCaughtUp refuses the switch before it begins', async () => {
    const { db } = context();
    const projection = counted('switch_checked');
    const [generation] = await registerProjection(db, projection);
    if (!generation) throw new Error('the projection has its first generation');

    for (const given of [undefined, null, {}, { generation: generation.generation }]) {
      await expect(activateIfCaughtUp(db, projection, given as Generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY), JSON.stringify(given)).rejects.toThrow(/needs the generation to switch to/);
    }
    await expect(activateIfCaughtUp(db, projection, generation, undefined as unknown as typeof NO_UPCASTING, DEFAULT_FAILURE_POLICY)).rejects.toThrow(/needs an event upcaster/);
    const [status] = await getProjectionStatus(db, projection.name);
    expect(status?.generations.map((built) => built.status)).toEqual(['active']);
  });

  it('given a generation that says another partition count than its record, activateIfCaughtUp refuses it rather than split the feed otherwise and apply events twice', async () => {
    const { db } = context();
    const projection = counted('split_checked', 2);
    await registerProjection(db, projection);
    const build = await rebuildProjection(db, projection);

    await expect(activateIfCaughtUp(db, projection, { ...build, partitions: 1 }, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).rejects.toThrow(
      new ProjectionDefinitionError(
        `generation ${build.generation} of split_checked was given as split into 1 partitions; its record says 2: switch it as registerProjection or rebuildProjection returned it`,
      ),
    );
    const [status] = await getProjectionStatus(db, projection.name);
    expect(status?.generations.map((built) => built.status)).toEqual(['active', 'building']);
  });
});
