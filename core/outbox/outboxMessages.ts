import type { Queryable } from '../db';

/** An outbox row as the publisher handles it. */
export interface OutboxMessage {
  id: bigint;
  /** With `id`, the message's place in the publisher's reading order. */
  txId: bigint;
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

/** An outbox row as SQL returns it, payload as text. */
export interface MessageRow {
  id: string;
  tx_id: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  subject: string;
  payload: string;
  headers: Record<string, string>;
  attempts: number;
  delayed: boolean;
}

/** Where a publisher reads on from: after the last message it read. */
export interface OutboxCursor {
  txId: bigint;
  id: bigint;
}

export const START_OF_OUTBOX: OutboxCursor = { txId: 0n, id: 0n };

// See outbox_pending_batch: gap-free reading on from a cursor.
const PENDING_SQL = `
  SELECT id, tx_id, event_id, stream_id, stream_version, subject, payload, headers, attempts, delayed
  FROM outbox_pending_batch($1, $2, $3, $4, $5)`;

export async function readPendingMessages(
  db: Queryable,
  partition: { index: number; count: number },
  limit: number,
  after: OutboxCursor = START_OF_OUTBOX,
): Promise<OutboxMessage[]> {
  const params = [partition.index, partition.count, after.txId.toString(), after.id.toString(), limit];
  const { rows } = await db.query<MessageRow>(PENDING_SQL, params, {
    name: 'outbox_pending',
  });
  return rows.map(messageFromRow);
}

export const messageFromRow = (row: MessageRow): OutboxMessage => ({
  id: BigInt(row.id),
  txId: BigInt(row.tx_id),
  eventId: row.event_id,
  streamId: row.stream_id,
  streamVersion: row.stream_version,
  subject: row.subject,
  payload: row.payload,
  headers: row.headers,
  attempts: row.attempts,
  delayed: row.delayed,
});

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
    error,
    policy.maxAttempts,
    policy.backoffBaseMs,
    policy.backoffMaxMs,
  ]);
  return { parked: rows[0]?.parked ?? false };
}
