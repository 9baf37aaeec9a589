import { readInOneSnapshot, type Queryable } from '../db';
import { NO_UPCASTING } from '../eventstore';
import { eventFeedSource, getProcessorStatus, type ProcessorPartitionStatus } from '../processing';
import type { GenerationReason, GenerationStatus } from './generationRecords';
import { isProjectionName, processorNameOf } from './projectionNames';

export type PartitionState = 'running' | 'rebuilding' | 'failed';

export interface PartitionStatus {
  partition: number;
  /** `"<txId>:<position>"`. */
  checkpoint: string;
  /** failed: stopped until resumed; rebuilding: its generation is building, or has not reached the head yet. */
  state: PartitionState;
  caughtUp: boolean;
  /** Events in this partition past the checkpoint, counted up to the processing engine's LAG_COUNT_LIMIT. */
  lagEvents: number;
  lagEventsCapped: boolean;
  /** Age of the oldest event in this partition past the checkpoint; 0 when there is none. */
  lagSeconds: number;
  eventsApplied: number;
  attempts: number;
  lastError: string | null;
  failedEventId: string | null;
  nextAttemptAt: Date | null;
  /** Its failure's backoff has yet to run out, by the database's clock: no projector takes it meanwhile. */
  waitingOutBackoff: boolean;
  updatedAt: Date;
  /** The instance holding the partition's lease now, and until when; null when none does. */
  heldBy: string | null;
  heldUntil: Date | null;
}

export interface GenerationProgress {
  generation: number;
  version: number;
  status: Exclude<GenerationStatus, 'retired'>;
  reason: GenerationReason;
  startedAt: Date;
  activatedAt: Date | null;
  partitionsCaughtUp: number;
  partitions: PartitionStatus[];
}

export interface ProjectionStatus {
  name: string;
  /** The generation reads are served from; null before any. */
  activeGeneration: number | null;
  /** The active generation and a build in progress, if any. */
  generations: GenerationProgress[];
}

const GENERATIONS_SQL = `
  SELECT pr.name, pr.active_generation, g.generation, g.version, g.status, g.reason, g.started_at, g.activated_at
  FROM projections pr JOIN projection_generations g ON g.name = pr.name AND g.status <> 'retired'
  WHERE $1::text IS NULL OR pr.name = $1
  ORDER BY pr.name, g.generation`;

interface GenerationRow {
  name: string;
  active_generation: number | null;
  generation: number;
  version: number;
  status: Exclude<GenerationStatus, 'retired'>;
  reason: GenerationReason;
  started_at: Date;
  activated_at: Date | null;
}

// Lag counts every event of a partition past its checkpoint, whatever its type: the
// status is read without the projections' code, by name.
const everyEvent = eventFeedSource({ upcaster: NO_UPCASTING });

function partitionStatus(generation: GenerationRow, partition: ProcessorPartitionStatus): PartitionStatus {
  const building = generation.status === 'building' || !partition.everCaughtUp;
  return {
    partition: partition.partition,
    checkpoint: partition.checkpoint,
    state: partition.state === 'failed' ? 'failed' : building ? 'rebuilding' : 'running',
    caughtUp: partition.everCaughtUp && partition.caughtUp,
    lagEvents: partition.lagItems,
    lagEventsCapped: partition.lagCapped,
    lagSeconds: partition.lagSeconds,
    eventsApplied: partition.itemsProcessed,
    attempts: partition.attempts,
    lastError: partition.lastError,
    failedEventId: partition.failedItemId,
    nextAttemptAt: partition.nextAttemptAt,
    waitingOutBackoff: partition.waitingOutBackoff,
    updatedAt: partition.updatedAt,
    heldBy: partition.heldBy,
    heldUntil: partition.heldUntil,
  };
}

/**
 * Checkpoint, lag, state and last error of every partition of every live
 * generation; one projection's with `name`. Read in one snapshot: a switch
 * committing between two statements would show a build's partitions past
 * the events its record says it still lacks.
 */
export async function getProjectionStatus(db: Queryable, name?: string): Promise<ProjectionStatus[]> {
  // One no projection could have (a NUL in it) would be refused by the database, untyped: none has it.
  if (name !== undefined && !isProjectionName(name)) return [];
  return readInOneSnapshot(db, (snapshot) => readProjectionStatus(snapshot, name));
}

async function readProjectionStatus(db: Queryable, name: string | undefined): Promise<ProjectionStatus[]> {
  const { rows } = await db.query<GenerationRow>(GENERATIONS_SQL, [name ?? null]);
  const projections = new Map<string, ProjectionStatus>();
  for (const row of rows) {
    let projection = projections.get(row.name);
    if (!projection) {
      projection = { name: row.name, activeGeneration: row.active_generation, generations: [] };
      projections.set(row.name, projection);
    }
    const processor = { name: processorNameOf(row.name, row.generation), source: everyEvent };
    const partitions = (await getProcessorStatus(db, processor)).map((partition) => partitionStatus(row, partition));
    projection.generations.push({
      generation: row.generation,
      version: row.version,
      status: row.status,
      reason: row.reason,
      startedAt: row.started_at,
      activatedAt: row.activated_at,
      partitionsCaughtUp: partitions.filter((partition) => partition.caughtUp).length,
      partitions,
    });
  }
  return [...projections.values()];
}
