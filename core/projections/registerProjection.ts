import type { Db, TransactionOptions } from '../db';
import { batchIdleTimeoutMs } from '../processing';
import { checkProjectionGiven, type Projection } from './defineProjection';
import { ProjectionDefinitionError, ProjectionNotFoundError } from './errors';
import { describeChangedReads, readsOf, sameReads } from './generationReads';
import { latestGeneration, liveGenerations, lockProjection, recordReads, type Generation } from './generationRecords';
import { startGeneration } from './startGeneration';

/**
 * How long a registration or a rebuild may sit between two statements, as a
 * batch of a projector with no lease time given may: the projection's setup and
 * teardown run inside, under the projection's lock and after the new
 * generation's row is written. A setup frozen or hung there (awaiting what
 * never comes) would otherwise hold every other registration, switch and
 * rebuild of the projection, and the feed's horizon, for good.
 */
const DEFAULT_REGISTRATION_IDLE_MS = batchIdleTimeoutMs(undefined);

// Only a bound left out takes the default; null (a config value left unset) is refused, and any other bound is the port's to check.
function boundOf(options: TransactionOptions, caller: string): TransactionOptions {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ProjectionDefinitionError(`${caller}: options must be an object: { idleTimeoutMs }`);
  if ((options.idleTimeoutMs as unknown) === null) throw new ProjectionDefinitionError(`${caller}: idleTimeoutMs must be left out or a number of milliseconds, not null`);
  return { idleTimeoutMs: options.idleTimeoutMs === undefined ? DEFAULT_REGISTRATION_IDLE_MS : options.idleTimeoutMs };
}

/**
 * Makes sure the projection's version has a generation, and returns the
 * generations this code builds: those of its version that are active or
 * building. A higher version than any before starts a blue/green rebuild; a
 * lower one (old code still running during a deploy) only keeps its own
 * generation going while that still serves reads. Past `idleTimeoutMs` idle
 * (10 s unless given; a projector gives its batches' bound), the server rolls
 * the registration back and the projection is free for other instances; the
 * call fails with ConnectionLostError once its setup goes on (one that never
 * settles leaves the call waiting for the life of the process).
 */
export async function registerProjection(db: Db, projection: Projection, options: TransactionOptions = {}): Promise<Generation[]> {
  checkProjectionGiven(projection, 'registerProjection');
  const bound = boundOf(options, 'registerProjection');
  return db.transaction(async (tx) => {
    await lockProjection(tx, projection.name);
    const latest = await latestGeneration(tx, projection.name);
    if (latest === null) await startGeneration(tx, projection, 'initial');
    else if (projection.version > latest.version) await startGeneration(tx, projection, 'version');
    const live = await liveGenerations(tx, projection.name);
    // Also an older version still serving while a newer one builds: with another count its code would build nothing, silently.
    checkBuiltShape(projection, latest ? [latest, ...live] : live);
    for (const generation of live) {
      if (generation.version === projection.version && generation.reads === null) await recordReads(tx, projection.name, generation.generation, readsOf(projection));
    }
    return buildsOf(live, projection);
  }, bound);
}

const sameTables = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((table) => b.includes(table));

/**
 * A version keeps the partition count, the tables and the reads it was first
 * built with: changing them needs a version bump. Built under other table
 * names, its reads and its teardown would look for tables that are not there.
 * Reading other event or stream types, it would go on from its checkpoint
 * without the history of what it now reads (or with that of what it no longer
 * does), unlike a fresh build of the same code.
 */
export function checkBuiltShape(projection: Projection, generations: readonly Generation[]): void {
  const sameVersion = generations.filter((generation) => generation.version === projection.version);
  const otherCount = sameVersion.find((generation) => generation.partitions !== projection.partitions);
  if (otherCount) {
    throw new ProjectionDefinitionError(
      `projection ${projection.name} v${projection.version} was built with ${otherCount.partitions} partitions, not ${projection.partitions}: bump the version to change them`,
    );
  }
  const otherTables = sameVersion.find((generation) => !sameTables(generation.tables, projection.tables));
  if (otherTables) {
    throw new ProjectionDefinitionError(
      `projection ${projection.name} v${projection.version} was built with tables ${otherTables.tables.join(', ')}, not ${projection.tables.join(', ')}: bump the version to change them`,
    );
  }
  const reads = readsOf(projection);
  const otherReads = sameVersion.find((generation) => generation.reads !== null && !sameReads(generation.reads, reads))?.reads;
  if (otherReads) {
    const changed = describeChangedReads(otherReads, reads);
    throw new ProjectionDefinitionError(
      `projection ${projection.name} v${projection.version} was built reading event types ${changed.built}, not ${changed.code}: bump the version to change what it reads`,
    );
  }
}

export const buildsOf = (generations: readonly Generation[], projection: Projection): Generation[] =>
  generations.filter((generation) => generation.version === projection.version && generation.partitions === projection.partitions);

/**
 * Rebuilds the projection on demand: a fresh generation of the same version
 * fills new tables from the start of the feed while the active one keeps
 * serving (and being updated), and replaces it once caught up. A rebuild
 * already in progress is returned rather than restarted. Bound while idle as
 * registerProjection is.
 */
export async function rebuildProjection(db: Db, projection: Projection, options: TransactionOptions = {}): Promise<Generation> {
  checkProjectionGiven(projection, 'rebuildProjection');
  const bound = boundOf(options, 'rebuildProjection');
  return db.transaction(async (tx) => {
    await lockProjection(tx, projection.name);
    const latest = await latestGeneration(tx, projection.name);
    if (latest === null) throw new ProjectionNotFoundError(projection.name);
    if (latest.version !== projection.version) {
      throw new ProjectionDefinitionError(
        `projection ${projection.name} is at v${latest.version}; a rebuild needs the code of that version, not v${projection.version}`,
      );
    }
    checkBuiltShape(projection, [latest]);
    if (latest.status === 'building') return latest;
    return startGeneration(tx, projection, 'rebuild');
  }, bound);
}
