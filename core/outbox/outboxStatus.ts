import type { Queryable } from '../db';

export interface OutboxStatus {
  /** Messages waiting to be published (parked ones excluded). */
  backlog: number;
  /** Age of the oldest waiting message; 0 when none waits. */
  oldestPendingAgeSeconds: number;
  /** Messages NATS kept refusing: they need a person. */
  parked: number;
}

// Each figure from its own partial index, so the published history does not slow it down.
const STATUS_SQL = `
  SELECT
    (SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL)::integer AS backlog,
    coalesce(extract(epoch FROM now() - (
      SELECT created_at FROM outbox WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT 1
    )), 0)::float8 AS oldest_pending_age_seconds,
    (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL)::integer AS parked`;

export async function readOutboxStatus(db: Queryable): Promise<OutboxStatus> {
  const { rows } = await db.query<{ backlog: number; oldest_pending_age_seconds: number; parked: number }>(STATUS_SQL);
  const row = rows[0];
  return {
    backlog: row?.backlog ?? 0,
    oldestPendingAgeSeconds: Math.max(0, row?.oldest_pending_age_seconds ?? 0),
    parked: row?.parked ?? 0,
  };
}
