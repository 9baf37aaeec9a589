import type { Queryable } from '../db';
import { checkProjectionGiven, type Projection } from './defineProjection';
import { ProjectionDefinitionError } from './errors';
import { activeGeneration } from './generationRecords';
import { tableNamesOf, type TableNames } from './projectionNames';

export interface ProjectionReader<Table extends string> {
  /** The active generation's tables, or null before the projection has a generation (or if it lacks one of its tables). */
  tables(): Promise<TableNames<Table> | null>;
}

/** The longest a reader may keep a generation's table names. */
export const MAX_READER_CACHE_MS = 30_000;

/**
 * Finds the tables reads should go to, cached for `cacheMs` (default 1 s, at
 * most MAX_READER_CACHE_MS) so a read costs no extra round trip. A switch to a
 * new generation reaches readers within that time; the old tables outlive it
 * (dropped when a later build starts, and only once retired for longer than
 * any reader caches: see startGeneration), so a reader holding the old names
 * still finds them.
 */
export function createProjectionReader<Table extends string>(
  db: Queryable,
  projection: Projection<Table>,
  options: { cacheMs?: number } = {},
): ProjectionReader<Table> {
  // Checked now, not at the first read: a reader is made when the app starts.
  checkProjectionGiven(projection, 'createProjectionReader');
  if (typeof options !== 'object' || (options as unknown) === null) throw new ProjectionDefinitionError('reader options must be an object: { cacheMs }');
  const cacheMs = options.cacheMs ?? 1_000;
  if (!Number.isFinite(cacheMs) || cacheMs < 0 || cacheMs > MAX_READER_CACHE_MS) {
    throw new ProjectionDefinitionError(`cacheMs must be from 0 to ${MAX_READER_CACHE_MS}, got ${cacheMs}`);
  }
  let cached: { at: number; tables: Promise<TableNames<Table> | null> } | undefined;

  async function lookUp(): Promise<TableNames<Table> | null> {
    const active = await activeGeneration(db, projection.name);
    if (!active || !projection.tables.every((table) => active.tables.includes(table))) return null;
    return tableNamesOf(projection.name, projection.tables, active.generation);
  }

  return {
    tables() {
      const now = Date.now();
      if (!cached || now - cached.at >= cacheMs) {
        const tables = lookUp();
        cached = { at: now, tables };
        tables.catch(() => {
          if (cached?.tables === tables) cached = undefined;
        });
      }
      return cached.tables;
    },
  };
}
