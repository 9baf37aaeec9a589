import type { Queryable } from '../db';
import { resumeProcessors } from '../processing';
import { ProjectionNotFoundError } from './errors';
import { latestGeneration, liveGenerations } from './generationRecords';
import { isProjectionName, processorNameOf } from './projectionNames';

/**
 * Puts a projection's failed partitions back to work (after the handler or the
 * data was fixed), with fresh attempts and no wait. Their last error stays
 * visible until a batch succeeds. Returns the partitions resumed; a name never
 * registered is a ProjectionNotFoundError, not nothing to resume.
 */
export async function resumeProjection(db: Queryable, name: string): Promise<{ generation: number; partition: number }[]> {
  // One no projection could have (a NUL in it) would be refused by the database, untyped.
  if (!isProjectionName(name)) throw new ProjectionNotFoundError(name);
  const generations = await liveGenerations(db, name);
  if (generations.length === 0 && (await latestGeneration(db, name)) === null) throw new ProjectionNotFoundError(name);
  const byProcessor = new Map(generations.map((generation) => [processorNameOf(name, generation.generation), generation.generation]));
  const resumed = await resumeProcessors(db, [...byProcessor.keys()]);
  return resumed.map(({ processor, partition }) => ({ generation: byProcessor.get(processor) ?? 0, partition }));
}
