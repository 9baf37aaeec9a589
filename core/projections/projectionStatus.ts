import type { Queryable } from '../db';
import { formatCheckpoint } from '../eventstore';
import type { GenerationReason, GenerationStatus } from './generationRecords';

/** Events past a checkpoint are counted up to this many; `lagEventsCapped` says when there are more. */
export const LAG_COUNT_LIMIT = 10_000;

export type PartitionState = 'running' | 'rebuilding' | 'failed';

export interface PartitionStatus {
  partition: number;
  /** `"<txId>:<position>"`. */
  checkpoint: string;
  /** failed: stopped until resumed; rebuilding: its generation is building, or has not reached the head yet. */
  state: PartitionState;
  caughtUp: boolean;
  /** Events in this partition past the checkpoint, counted up to LAG_COUNT_LIMIT. */
  lagEvents: number;
  lagEventsCapped: boolean;
  /** Age of the oldest event in this partition past the checkpoint; 0 when there is none. */
  lagSeconds: number;
  eventsApplied: number;
  attempts: number;
  lastError: string | null;
  failedEventId: string | null;
  nextAttemptAt: Date | null;
  updatedAt: Date;
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

interface StatusRow {
  name: string;
  active_generation: number | null;
  generation: number;
  version: number;
  status: Exclude<GenerationStatus, 'retired'>;
  reason: GenerationReason;
  started_at: Date;
  activated_at: Date | null;
  partition: number;
  checkpoint_tx: string;
  checkpoint_position: string;
  state: 'running' | 'failed';
  caught_up: boolean;
  events_applied: string;
  attempts: number;
  last_error: string | null;
  failed_event_id: string | null;
  next_attempt_at: Date | null;
  updated_at: Date;
  lag_events: string;
  lag_seconds: number | null;
}

// Both lag figures walk the feed order index from the checkpoint, so they cost
// in proportion to the lag, bounded by the count limit.
const STATUS_SQL = `
  SELECT pr.name, pr.active_generation, g.generation, g.version, g.status, g.reason, g.started_at, g.activated_at,
         p.partition, p.checkpoint_tx, p.checkpoint_position, p.state, p.caught_up_at IS NOT NULL AS caught_up,
         p.events_applied, p.attempts, p.last_error, p.failed_event_id, p.next_attempt_at, p.updated_at,
         lag.events AS lag_events, extract(epoch FROM now() - oldest.recorded_at)::float8 AS lag_seconds
  FROM projections pr
  JOIN projection_generations g ON g.name = pr.name AND g.status <> 'retired'
  JOIN projection_partitions p ON p.name = g.name AND p.generation = g.generation
  LEFT JOIN LATERAL (
    SELECT e.recorded_at FROM events e
    WHERE (e.tx_id, e.global_position) > (p.checkpoint_tx, p.checkpoint_position)
      AND stream_partition(e.stream_id, g.partitions) = p.partition
    ORDER BY e.tx_id, e.global_position LIMIT 1
  ) oldest ON true
  CROSS JOIN LATERAL (
    SELECT count(*) AS events FROM (
      SELECT 1 FROM events e
      WHERE (e.tx_id, e.global_position) > (p.checkpoint_tx, p.checkpoint_position)
        AND stream_partition(e.stream_id, g.partitions) = p.partition
      LIMIT $2
    ) past
  ) lag
  WHERE $1::text IS NULL OR pr.name = $1
  ORDER BY pr.name, g.generation, p.partition`;

function partitionStatus(row: StatusRow): PartitionStatus {
  const lagEvents = Math.min(Number(row.lag_events), LAG_COUNT_LIMIT);
  const building = row.status === 'building' || !row.caught_up;
  return {
    partition: row.partition,
    checkpoint: formatCheckpoint({ txId: BigInt(row.checkpoint_tx), position: BigInt(row.checkpoint_position) }),
    state: row.state === 'failed' ? 'failed' : building ? 'rebuilding' : 'running',
    caughtUp: row.caught_up && lagEvents === 0,
    lagEvents,
    lagEventsCapped: Number(row.lag_events) > LAG_COUNT_LIMIT,
    lagSeconds: Math.max(0, row.lag_seconds ?? 0),
    eventsApplied: Number(row.events_applied),
    attempts: row.attempts,
    lastError: row.last_error,
    failedEventId: row.failed_event_id,
    nextAttemptAt: row.next_attempt_at,
    updatedAt: row.updated_at,
  };
}

/** Checkpoint, lag, state and last error of every partition of every live generation; one projection's with `name`. */
export async function getProjectionStatus(db: Queryable, name?: string): Promise<ProjectionStatus[]> {
  const { rows } = await db.query<StatusRow>(STATUS_SQL, [name ?? null, LAG_COUNT_LIMIT + 1]);
  const projections = new Map<string, ProjectionStatus>();
  for (const row of rows) {
    let projection = projections.get(row.name);
    if (!projection) {
      projection = { name: row.name, activeGeneration: row.active_generation, generations: [] };
      projections.set(row.name, projection);
    }
    let generation = projection.generations.find((candidate) => candidate.generation === row.generation);
    if (!generation) {
      generation = {
        generation: row.generation,
        version: row.version,
        status: row.status,
        reason: row.reason,
        startedAt: row.started_at,
        activatedAt: row.activated_at,
        partitionsCaughtUp: 0,
        partitions: [],
      };
      projection.generations.push(generation);
    }
    const partition = partitionStatus(row);
    generation.partitions.push(partition);
    if (row.caught_up) generation.partitionsCaughtUp += 1;
  }
  return [...projections.values()];
}
