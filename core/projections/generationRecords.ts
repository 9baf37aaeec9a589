import type { Queryable } from '../db';
import { registerProcessor, stopProcessor } from '../processing';
import type { GenerationReads } from './generationReads';
import { processorNameOf } from './projectionNames';

export type GenerationStatus = 'building' | 'active' | 'retired';
export type GenerationReason = 'initial' | 'version' | 'rebuild';

/** One build of a projection into tables of its own. */
export interface Generation {
  name: string;
  generation: number;
  version: number;
  partitions: number;
  tables: readonly string[];
  /** Null for a build started before what builds read was recorded (migration 0032), until its version's code registers. */
  reads: GenerationReads | null;
  status: GenerationStatus;
  reason: GenerationReason;
  startedAt: Date;
  activatedAt: Date | null;
}

interface GenerationRow {
  name: string;
  generation: number;
  version: number;
  partitions: number;
  tables: string[];
  event_types: string[] | null;
  stream_types: string[] | null;
  status: GenerationStatus;
  reason: GenerationReason;
  started_at: Date;
  activated_at: Date | null;
}

const COLUMNS = 'g.name, g.generation, g.version, g.partitions, g.tables, g.event_types, g.stream_types, g.status, g.reason, g.started_at, g.activated_at';

const toGeneration = (row: GenerationRow): Generation => ({
  name: row.name,
  generation: row.generation,
  version: row.version,
  partitions: row.partitions,
  tables: row.tables,
  reads: row.event_types && { eventTypes: row.event_types, streamTypes: row.stream_types },
  status: row.status,
  reason: row.reason,
  startedAt: row.started_at,
  activatedAt: row.activated_at,
});

const LATEST_SQL = `SELECT ${COLUMNS} FROM projection_generations g WHERE g.name = $1 ORDER BY g.generation DESC LIMIT 1`;

const LIVE_SQL = `
  SELECT ${COLUMNS} FROM projection_generations g
  WHERE g.name = $1 AND g.status <> 'retired' ORDER BY g.generation`;

const ACTIVE_SQL = `
  SELECT ${COLUMNS} FROM projections p
  JOIN projection_generations g ON g.name = p.name AND g.generation = p.active_generation
  WHERE p.name = $1`;

/** Retired generations whose tables are still there, retired at least $2 ms ago, oldest first. */
const RETIRED_WITH_TABLES_SQL = `
  SELECT ${COLUMNS} FROM projection_generations g
  WHERE g.name = $1 AND g.status = 'retired' AND g.torn_down_at IS NULL
    AND g.retired_at <= now() - make_interval(secs => $2 / 1000.0)
  ORDER BY g.generation`;

export async function latestGeneration(db: Queryable, name: string): Promise<Generation | null> {
  const { rows } = await db.query<GenerationRow>(LATEST_SQL, [name]);
  return rows[0] ? toGeneration(rows[0]) : null;
}

/** The generations still built or served: the active one and a build in progress. */
export async function liveGenerations(db: Queryable, name: string): Promise<Generation[]> {
  const { rows } = await db.query<GenerationRow>(LIVE_SQL, [name]);
  return rows.map(toGeneration);
}

const ONE_SQL = `SELECT ${COLUMNS} FROM projection_generations g WHERE g.name = $1 AND g.generation = $2`;

/** One generation's record, whatever its status. */
export async function generationRecord(db: Queryable, name: string, generation: number): Promise<Generation | null> {
  const { rows } = await db.query<GenerationRow>(ONE_SQL, [name, generation]);
  return rows[0] ? toGeneration(rows[0]) : null;
}

export async function activeGeneration(db: Queryable, name: string): Promise<Generation | null> {
  const { rows } = await db.query<GenerationRow>(ACTIVE_SQL, [name]);
  return rows[0] ? toGeneration(rows[0]) : null;
}

export async function retiredGenerationsWithTables(db: Queryable, name: string, retiredForMs: number): Promise<Generation[]> {
  const { rows } = await db.query<GenerationRow>(RETIRED_WITH_TABLES_SQL, [name, retiredForMs]);
  return rows.map(toGeneration);
}

/** Locks the projection's row (creating it on first use): registrations, rebuilds and switches of one name take turns. */
export async function lockProjection(tx: Queryable, name: string): Promise<void> {
  await tx.query('INSERT INTO projections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
  await tx.query('SELECT 1 FROM projections WHERE name = $1 FOR UPDATE', [name]);
}

const INSERT_GENERATION_SQL = `
  INSERT INTO projection_generations AS g (name, generation, version, partitions, tables, event_types, stream_types, status, reason, activated_at)
  SELECT $1, coalesce(max(generation), 0) + 1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $7 = 'active' THEN now() END
  FROM projection_generations WHERE name = $1
  RETURNING ${COLUMNS}`;

export interface NewGeneration {
  name: string;
  version: number;
  partitions: number;
  tables: readonly string[];
  reads: GenerationReads;
  status: 'building' | 'active';
  reason: GenerationReason;
}

/** Inserts the next generation, and its processor's partitions at the start of the feed. */
export async function insertGeneration(tx: Queryable, next: NewGeneration): Promise<Generation> {
  const { rows } = await tx.query<GenerationRow>(INSERT_GENERATION_SQL, [
    next.name,
    next.version,
    next.partitions,
    next.tables,
    next.reads.eventTypes,
    next.reads.streamTypes,
    next.status,
    next.reason,
  ]);
  const row = rows[0];
  if (!row) throw new Error(`inserting generation of ${next.name} returned nothing`);
  const generation = toGeneration(row);
  await registerProcessor(tx, processorNameOf(next.name, generation.generation), next.partitions);
  if (next.status === 'active') {
    await tx.query('UPDATE projections SET active_generation = $2, updated_at = now() WHERE name = $1', [next.name, generation.generation]);
  }
  return generation;
}

/**
 * Retires a generation and stops its processor, in the caller's transaction.
 * Readers see the retirement when that transaction commits, so its time (from
 * which the tables are kept) is taken when this statement runs, late in it,
 * not when the transaction began: a slow switch begins seconds before any
 * reader can see the generation retired.
 */
export async function retireGeneration(tx: Queryable, name: string, generation: number): Promise<void> {
  await tx.query(
    `UPDATE projection_generations SET status = 'retired', retired_at = clock_timestamp() WHERE name = $1 AND generation = $2`,
    [name, generation],
  );
  await stopProcessor(tx, processorNameOf(name, generation));
}

const RECORD_READS_SQL = `
  UPDATE projection_generations SET event_types = $3, stream_types = $4
  WHERE name = $1 AND generation = $2 AND event_types IS NULL`;

/** Records what a build started before reads were recorded reads: what the code of its version reads now. */
export async function recordReads(tx: Queryable, name: string, generation: number, reads: GenerationReads): Promise<void> {
  await tx.query(RECORD_READS_SQL, [name, generation, reads.eventTypes, reads.streamTypes]);
}

export async function markTornDown(tx: Queryable, name: string, generation: number): Promise<void> {
  await tx.query('UPDATE projection_generations SET torn_down_at = now() WHERE name = $1 AND generation = $2', [name, generation]);
}
