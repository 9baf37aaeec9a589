import type { Queryable } from '../db';
import type { Checkpoint } from '../eventstore';
import type { GenerationStatus } from './generationRecords';

export interface PartitionKey {
  name: string;
  generation: number;
  partition: number;
}

export interface PartitionState {
  checkpoint: Checkpoint;
  state: 'running' | 'failed';
  caughtUp: boolean;
  /** When a retry after a failure is due, if it is not yet. */
  waitUntil: Date | null;
  generationStatus: GenerationStatus;
}

interface PartitionRow {
  checkpoint_tx: string;
  checkpoint_position: string;
  state: 'running' | 'failed';
  caught_up: boolean;
  wait_until: Date | null;
  generation_status: GenerationStatus;
}

// FOR UPDATE: whoever advances this checkpoint holds the row until commit, and
// the next writer reads the checkpoint only after that: a compare-and-set.
const LOCK_SQL = `
  SELECT p.checkpoint_tx, p.checkpoint_position, p.state, p.caught_up_at IS NOT NULL AS caught_up,
         CASE WHEN p.next_attempt_at > now() THEN p.next_attempt_at END AS wait_until, g.status AS generation_status
  FROM projection_partitions p JOIN projection_generations g USING (name, generation)
  WHERE p.name = $1 AND p.generation = $2 AND p.partition = $3
  FOR UPDATE OF p`;

export async function lockPartition(tx: Queryable, key: PartitionKey): Promise<PartitionState | null> {
  const { rows } = await tx.query<PartitionRow>(LOCK_SQL, [key.name, key.generation, key.partition], { name: 'projection_lock_partition' });
  const row = rows[0];
  if (!row) return null;
  return {
    checkpoint: { txId: BigInt(row.checkpoint_tx), position: BigInt(row.checkpoint_position) },
    state: row.state,
    caughtUp: row.caught_up,
    waitUntil: row.wait_until,
    generationStatus: row.generation_status,
  };
}

const ADVANCE_SQL = `
  UPDATE projection_partitions
  SET checkpoint_tx = $4::xid8, checkpoint_position = $5, events_applied = events_applied + $6,
      caught_up_at = CASE WHEN $7::boolean THEN coalesce(caught_up_at, now()) ELSE caught_up_at END,
      attempts = 0, last_error = NULL, failed_event_id = NULL, next_attempt_at = NULL, updated_at = now()
  WHERE name = $1 AND generation = $2 AND partition = $3`;

/** Stores the checkpoint after a batch, in the batch's transaction, and clears any failure. */
export async function advanceCheckpoint(
  tx: Queryable,
  key: PartitionKey,
  checkpoint: Checkpoint,
  applied: number,
  caughtUp: boolean,
): Promise<void> {
  await tx.query(
    ADVANCE_SQL,
    [key.name, key.generation, key.partition, checkpoint.txId.toString(), checkpoint.position.toString(), applied, caughtUp],
    { name: 'projection_advance_checkpoint' },
  );
}

export interface RecordedFailure {
  state: 'running' | 'failed';
  attempts: number;
  nextAttemptAt: Date | null;
}

// The partition gives up after max attempts; until then the next try waits `delay` ms.
const RECORD_FAILURE_SQL = `
  UPDATE projection_partitions
  SET attempts = attempts + 1, last_error = $4, failed_event_id = $5::uuid,
      state = CASE WHEN attempts + 1 >= $6 THEN 'failed' ELSE 'running' END,
      next_attempt_at = CASE WHEN attempts + 1 >= $6 THEN NULL ELSE now() + make_interval(secs => $7 / 1000.0) END,
      updated_at = now()
  WHERE name = $1 AND generation = $2 AND partition = $3
  RETURNING state, attempts, next_attempt_at`;

export async function recordFailure(
  tx: Queryable,
  key: PartitionKey,
  failure: { error: string; eventId: string | null; maxAttempts: number; delayMs: number },
): Promise<RecordedFailure> {
  const { rows } = await tx.query<{ state: 'running' | 'failed'; attempts: number; next_attempt_at: Date | null }>(
    RECORD_FAILURE_SQL,
    [key.name, key.generation, key.partition, failure.error, failure.eventId, failure.maxAttempts, failure.delayMs],
  );
  const row = rows[0];
  if (!row) throw new Error(`partition ${key.partition} of ${key.name} g${key.generation} is gone`);
  return { state: row.state, attempts: row.attempts, nextAttemptAt: row.next_attempt_at };
}

export async function currentAttempts(tx: Queryable, key: PartitionKey): Promise<number> {
  const { rows } = await tx.query<{ attempts: number }>(
    'SELECT attempts FROM projection_partitions WHERE name = $1 AND generation = $2 AND partition = $3 FOR UPDATE',
    [key.name, key.generation, key.partition],
  );
  return rows[0]?.attempts ?? 0;
}
