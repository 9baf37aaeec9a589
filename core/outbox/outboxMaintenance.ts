import type { Queryable } from '../db';

// Oldest first, skipping rows another publisher is deleting right now.
const DELETE_PUBLISHED_SQL = `
  DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox
    WHERE published_at < now() - make_interval(secs => $1 / 1000.0)
    ORDER BY published_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED)`;

export interface CleanupPolicy {
  /** Published messages are kept this long (for audit and replays); default one day. */
  retentionMs: number;
  batchSize: number;
  /** Bounds one run's work: at most batchSize * maxBatches rows deleted. */
  maxBatches: number;
}

/** Deletes published messages older than the retention, never an unpublished or parked one. */
export async function deletePublishedMessages(db: Queryable, policy: CleanupPolicy): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < policy.maxBatches; batch++) {
    const { rowCount } = await db.query(DELETE_PUBLISHED_SQL, [policy.retentionMs, policy.batchSize]);
    deleted += rowCount;
    if (rowCount < policy.batchSize) break;
  }
  return deleted;
}

export interface ParkedMessage {
  id: bigint;
  eventId: string;
  streamId: string;
  streamVersion: number;
  subject: string;
  attempts: number;
  lastError: string | null;
  parkedAt: Date;
}

interface ParkedRow {
  id: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  subject: string;
  attempts: number;
  last_error: string | null;
  parked_at: Date;
}

export async function listParkedMessages(db: Queryable, limit = 100): Promise<ParkedMessage[]> {
  const { rows } = await db.query<ParkedRow>(
    `SELECT id, event_id, stream_id, stream_version, subject, attempts, last_error, parked_at
     FROM outbox WHERE parked_at IS NOT NULL ORDER BY parked_at, id LIMIT $1`,
    [limit],
  );
  return rows.map((row) => ({
    id: BigInt(row.id),
    eventId: row.event_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    subject: row.subject,
    attempts: row.attempts,
    lastError: row.last_error,
    parkedAt: row.parked_at,
  }));
}

/** Puts a parked message back in line (after fixing what NATS refused), with fresh attempts. */
export async function requeueParkedMessage(db: Queryable, eventId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = NULL
     WHERE event_id = $1 AND parked_at IS NOT NULL`,
    [eventId],
  );
  return rowCount > 0;
}
