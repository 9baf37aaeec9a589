import { inSavepoint, type Queryable } from '../db';
import { log } from '../observability';
import type { Projection } from './defineProjection';
import { ProjectionDefinitionError } from './errors';
import { dropTables } from './dropTables';
import {
  insertGeneration,
  latestGeneration,
  markTornDown,
  retiredGenerationsWithTables,
  retireGeneration,
  type Generation,
  type GenerationReason,
} from './generationRecords';
import { readsOf } from './generationReads';
import { MAX_READER_CACHE_MS } from './projectionReader';
import { tableNamesOf } from './projectionNames';
import { thrownMessage } from '../errors';

/**
 * Drops the tables of a retired generation. Its own version's teardown runs
 * when the projection at hand is that version; an older version's tables are
 * dropped by the names recorded with it, since its code may be gone.
 */
async function tearDown(tx: Queryable, projection: Projection, retired: Generation): Promise<void> {
  if (retired.version === projection.version) {
    await projection.teardown(tx, tableNamesOf(projection.name, projection.tables, retired.generation));
  } else {
    await dropTables(tx, Object.values(tableNamesOf(retired.name, retired.tables, retired.generation)));
  }
  await markTornDown(tx, retired.name, retired.generation);
}

// A teardown waits this long at most for a lock (a long read of the old tables), or less
// if the transaction already waits less: it is clean-up, and must not hold up the build.
const TEARDOWN_LOCK_WAIT = '2s';
const SHORTEN_LOCK_WAIT_SQL = `
  SELECT s.setting AS previous,
    set_config('lock_timeout', CASE WHEN s.setting::interval = interval '0' OR s.setting::interval > $1::text::interval THEN $1::text ELSE s.setting END, true)
  FROM (SELECT current_setting('lock_timeout') AS setting) AS s`;
const RESTORE_LOCK_WAIT_SQL = "SELECT set_config('lock_timeout', $1, true)";

/**
 * A teardown is clean-up: one that fails (a user's view on the tables, a
 * custom teardown's error, a lock it waited too long for) is rolled back on its
 * own and logged, the generation left not torn down for the next build to try
 * again, and the build goes on.
 */
async function tearDownIfItCan(tx: Queryable, projection: Projection, retired: Generation): Promise<void> {
  try {
    await inSavepoint(tx, 'tear_down', async () => {
      const { rows } = await tx.query<{ previous: string }>(SHORTEN_LOCK_WAIT_SQL, [TEARDOWN_LOCK_WAIT]);
      await tearDown(tx, projection, retired);
      // Rolled back with the savepoint on a failure; put back by hand on a success.
      await tx.query(RESTORE_LOCK_WAIT_SQL, [rows[0]?.previous ?? '0']);
    });
  } catch (error) {
    // A connection lost meanwhile fails the registration's next statement as well.
    log.warn('projection teardown failed; the next build tries again', {
      projection: retired.name,
      generation: retired.generation,
      error: thrownMessage(error),
    });
  }
}

/**
 * A retired generation's tables are dropped only once it has been retired this
 * long: well past what any reader may cache its names for, with room for the
 * clocks of the reader's host and the database to differ.
 */
export const RETIRED_TABLES_KEPT_MS = 2 * MAX_READER_CACHE_MS;

/**
 * Starts a build of `projection` from the start of the feed, in a transaction
 * holding the projection's lock. The first build serves reads at once (there is
 * nothing else to serve); a later one builds beside the active generation and
 * replaces it once caught up. A build still in progress is abandoned, and the
 * tables of generations retired by an earlier switch, long enough ago, are
 * dropped now, so a reader that cached a previous generation's names never
 * loses its tables; those retired more recently wait for a later build.
 */
export async function startGeneration(tx: Queryable, projection: Projection, reason: GenerationReason): Promise<Generation> {
  const latest = await latestGeneration(tx, projection.name);
  if (latest?.status === 'building') await retireGeneration(tx, latest.name, latest.generation);
  for (const retired of await retiredGenerationsWithTables(tx, projection.name, RETIRED_TABLES_KEPT_MS)) await tearDownIfItCan(tx, projection, retired);
  const hasActive = latest !== null && (latest.status === 'active' || (await hasActiveGeneration(tx, projection.name)));
  const generation = await insertGeneration(tx, {
    name: projection.name,
    version: projection.version,
    partitions: projection.partitions,
    tables: projection.tables,
    reads: readsOf(projection),
    status: hasActive ? 'building' : 'active',
    reason,
  });
  const tables = tableNamesOf(projection.name, projection.tables, generation.generation);
  await projection.setup(tx, tables);
  await checkTablesCreated(tx, projection.name, Object.values(tables));
  return generation;
}

/**
 * Refuses a setup that did not create every table the projection declares (none,
 * or one under another name): readers would be handed a table that does not exist,
 * and the first event would fail the build under its failure policy. Refused, the
 * registration or rebuild rolls back.
 */
async function checkTablesCreated(tx: Queryable, projection: string, tables: readonly string[]): Promise<void> {
  const { rows } = await tx.query<{ name: string }>('SELECT t.name FROM unnest($1::text[]) AS t(name) WHERE to_regclass(t.name) IS NULL', [tables]);
  if (rows.length === 0) return;
  const missing = rows.map((row) => row.name).join(', ');
  throw new ProjectionDefinitionError(`${projection}: its setup did not create ${missing}, which it declares in tables: create each with the name setup is given`);
}

async function hasActiveGeneration(tx: Queryable, name: string): Promise<boolean> {
  const { rows } = await tx.query('SELECT 1 FROM projections WHERE name = $1 AND active_generation IS NOT NULL', [name]);
  return rows.length > 0;
}
