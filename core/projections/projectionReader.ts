import type { Queryable } from '../db';
import type { Projection } from './defineProjection';
import { activeGeneration } from './generationRecords';
import { tableNamesOf, type TableNames } from './projectionNames';

export interface ProjectionReader<Table extends string> {
  /** The active generation's tables, or null before the projection has a generation (or if it lacks one of its tables). */
  tables(): Promise<TableNames<Table> | null>;
}

/**
 * Finds the tables reads should go to, cached for `cacheMs` (default 1 s) so a
 * read costs no extra round trip. A switch to a new generation reaches readers
 * within that time; the old tables outlive it (they are dropped only when the
 * next build starts), so a reader holding the old names still finds them.
 */
export function createProjectionReader<Table extends string>(
  db: Queryable,
  projection: Projection<Table>,
  options: { cacheMs?: number } = {},
): ProjectionReader<Table> {
  const cacheMs = options.cacheMs ?? 1_000;
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
