import type { Queryable } from '../db';
import { checkStorableCheckpoint, type Checkpoint } from './checkpoint';

/**
 * How many events a lag count walks at most past a checkpoint: five filtered
 * page windows (FEED_SCAN_BOUND). A reader filtered to a rare type, or a
 * partition of few streams, far behind, would otherwise walk the rest of the
 * feed on every status read, and past the pool's statement bound fail it.
 */
export const LAG_SCAN_BOUND = 100_000;

/**
 * SQL: whether a lag walk through read_feed_window, its rows named `walk`, stopped
 * short of the head. Its closing row says 'scan_bound' whenever the window's last
 * event exists, also when that event is the newest: only an event past it means
 * more may wait. One probe of the feed index.
 */
export const walkStoppedShortOfHead = (walk: string): string => `EXISTS (
    SELECT FROM ${walk} AS closing WHERE closing.event_id IS NULL AND closing.type = 'scan_bound'
      AND EXISTS (SELECT FROM events e WHERE (e.tx_id, e.global_position) > (closing.tx_id, closing.global_position)))`;

// The first event past a checkpoint, whatever its type or stream, committed or held
// back by the horizon: one probe of the feed index.
const FIRST_EVENT_PAST_SQL = `
  SELECT extract(epoch FROM statement_timestamp() - recorded_at)::float8 AS age_seconds
  FROM events WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
  ORDER BY tx_id, global_position LIMIT 1`;

/**
 * The age, by the database's clock, of the first event past a checkpoint: how
 * far behind a reader there is, whatever it keeps of the feed. A lag count
 * that stopped at its bound before it found any of the reader's items gives
 * this age: they lie further on, so they are no older. 0 when nothing is past it.
 */
export async function feedReadingAge(db: Queryable, after: Checkpoint): Promise<number> {
  checkStorableCheckpoint(after);
  const { rows } = await db.query<{ age_seconds: number }>(FIRST_EVENT_PAST_SQL, [after.txId.toString(), after.position.toString()], { name: 'feed_reading_age' });
  return Math.max(0, rows[0]?.age_seconds ?? 0);
}
