import type { Queryable } from '../db';

/** An outbox row as the publisher handles it. */
export interface OutboxMessage {
  id: bigint;
  eventId: string;
  streamId: string;
  streamVersion: number;
  subject: string;
  /** The JSON body, exactly as stored. */
  payload: string;
  headers: Record<string, string>;
  attempts: number;
  /** A refused message waiting out its backoff: its stream waits with it. */
  delayed: boolean;
}

interface MessageRow {
  id: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  subject: string;
  payload: string;
  headers: Record<string, string>;
  attempts: number;
  delayed: boolean;
}

// Every earlier pending message of a returned stream is returned too; see outbox_pending_batch.
const PENDING_SQL = `
  SELECT id, event_id, stream_id, stream_version, subject, payload, headers, attempts, delayed
  FROM outbox_pending_batch($1, $2, $3)`;

export async function readPendingMessages(
  db: Queryable,
  partition: { index: number; count: number },
  limit: number,
): Promise<OutboxMessage[]> {
  const { rows } = await db.query<MessageRow>(PENDING_SQL, [partition.index, partition.count, limit], {
    name: 'outbox_pending',
  });
  return rows.map((row) => ({
    id: BigInt(row.id),
    eventId: row.event_id,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    subject: row.subject,
    payload: row.payload,
    headers: row.headers,
    attempts: row.attempts,
    delayed: row.delayed,
  }));
}

export async function markPublished(db: Queryable, ids: readonly bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    'UPDATE outbox SET published_at = now() WHERE id = ANY ($1::bigint[]) AND published_at IS NULL',
    [ids.map(String)],
    { name: 'outbox_mark_published' },
  );
}

// A refusal delays the message (and its stream) with exponential backoff; the last allowed one parks it.
const RECORD_REFUSAL_SQL = `
  UPDATE outbox SET
    attempts = attempts + 1,
    last_error = $2,
    next_attempt_at = now() + make_interval(secs => least($4::float8 * 2 ^ attempts, $5::float8) / 1000.0),
    parked_at = CASE WHEN attempts + 1 >= $3 THEN now() END
  WHERE id = $1 AND published_at IS NULL
  RETURNING parked_at IS NOT NULL AS parked`;

export async function recordRefusal(
  db: Queryable,
  id: bigint,
  error: string,
  policy: { maxAttempts: number; backoffBaseMs: number; backoffMaxMs: number },
): Promise<{ parked: boolean }> {
  const { rows } = await db.query<{ parked: boolean }>(RECORD_REFUSAL_SQL, [
    id.toString(),
    error.slice(0, 2000),
    policy.maxAttempts,
    policy.backoffBaseMs,
    policy.backoffMaxMs,
  ]);
  return { parked: rows[0]?.parked ?? false };
}
