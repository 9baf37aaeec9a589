import type { Queryable } from '../db';
import type { Projection } from './defineProjection';
import { ProjectionSupersededError } from './errors';
import { latestGeneration, type Generation } from './generationRecords';
import { buildsOf } from './registerProjection';

/**
 * Whether a projector's code of a projection is superseded: it builds no live
 * generation (none is of its version), and nothing else may keep what serves up to date. Rolled
 * back past a switch, say, or left behind by a newer build that retired its
 * own (a canary withdrawn). Not old code still running through a rollout: it
 * registered while its version was live, and a newer version has switched in
 * since, whose code builds what serves; it stops quietly.
 */
export function isSuperseded(projection: Projection, registered: readonly Generation[], live: readonly Generation[]): boolean {
  if (live.length === 0 || buildsOf(live, projection).length > 0) return false;
  const rolledOutPast = registered.length > 0 && live.some((generation) => generation.status === 'active' && generation.version > projection.version);
  return !rolledOutPast;
}

/** What a superseded projector's turn fails with: the live generations, and the lowest version that would build. */
export async function supersededError(db: Queryable, projection: Projection, live: readonly Generation[]): Promise<ProjectionSupersededError> {
  const highest = (await latestGeneration(db, projection.name))?.version ?? projection.version;
  const summaries = live.map(({ generation, version, status }) => ({ generation, version, status }));
  return new ProjectionSupersededError(projection.name, projection.version, summaries, highest + 1);
}
