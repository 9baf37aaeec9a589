import type { Queryable } from '../db';
import { isUuid } from '../ids/uuidText';
import { log, metrics } from '../observability';
import { checkParkedSource, ON_ITS_WAY_SQL, PARKED_WITH_SOURCE_ROWS, type ParkedSource } from './parkedMessages';
import { EVENTS_PUBLISHER, OUTBOX_PUBLISHER } from './publisherProcessors';

/**
 * What a discard did: `discarded`; or nothing, the message being
 * `not_parked`, `requeued` (on its way out again: a run sends it, or parks it
 * again, once its publisher has passed it), or `not_passed_yet` (its
 * publisher has not stored a checkpoint past it: a batch that parked it may
 * still be retried, and would send it once it is no longer parked; try again
 * after the next run).
 */
export type ParkedDiscard = 'discarded' | 'not_parked' | 'requeued' | 'not_passed_yet';

// The row is locked, so a requeue at the same moment is seen (and wins if first).
// Only past its publisher's checkpoint, as a requeue is sent: short of it, the
// batch that parked it could run again and, finding it no longer parked, send it.
// A parked row whose event or outbox row is gone can never be sent, requeued or not: passed,
// and its requeue counts for nothing (no turn can read it). All
// the rows of the id or none, so that a discard said done left nothing parked.
const DISCARD_SQL = `
  WITH target AS (
    SELECT p.message_id, p.source, ${ON_ITS_WAY_SQL} AS requeued,
      coalesce(e.tx_id, o.tx_id) IS NULL
        OR coalesce((coalesce(e.tx_id, o.tx_id), coalesce(e.global_position, o.id)) <= (c.checkpoint_tx, c.checkpoint_position), false) AS passed
    FROM ${PARKED_WITH_SOURCE_ROWS}
    LEFT JOIN feed_processors f ON f.name = CASE p.source WHEN 'events' THEN $3 ELSE $4 END
    LEFT JOIN processor_partitions c ON c.processor = f.name AND c.partition = stream_partition(p.ordering_key, f.partitions)
    WHERE p.message_id = $1 AND ($2::text IS NULL OR p.source = $2)
    FOR UPDATE OF p),
  discarded AS (
    DELETE FROM parked_messages d USING target t
    WHERE d.message_id = t.message_id AND d.source = t.source
      AND NOT EXISTS (SELECT FROM target k WHERE k.requeued OR NOT k.passed)
    RETURNING d.source, d.ordering_key, d.subject, d.error, d.parked_at)
  SELECT t.requeued, t.passed, x.source IS NOT NULL AS discarded, x.source, x.ordering_key, x.subject, x.error, x.parked_at
  FROM target t LEFT JOIN discarded x ON x.source = t.source`;

interface DiscardRow {
  requeued: boolean;
  passed: boolean;
  discarded: boolean;
  source: string | null;
  ordering_key: string | null;
  subject: string | null;
  error: string | null;
  parked_at: Date | null;
}

/**
 * A discard drops a message for good, and the row that said why goes with it:
 * what was dropped is told as it happens (a warning each, and a count), so an
 * audit can find it in the logs. The database does not know who asked; the
 * caller's context (a correlation id, say) goes on the line.
 */
function recordDiscards(messageId: string, rows: readonly DiscardRow[]): void {
  for (const row of rows) {
    log.warn('a parked message was discarded: it will never be sent', {
      messageId,
      source: row.source,
      orderingKey: row.ordering_key,
      subject: row.subject,
      error: row.error,
      parkedAt: row.parked_at?.toISOString() ?? null,
    });
  }
  metrics.count('MessagesDiscarded', rows.length);
}

/**
 * Takes a parked message off the parked list for good, never to be sent: for
 * a message no fix will let through (a subject retired, a payload no
 * consumer wants). A stored event stays in the store; an integration message
 * is deleted with the outbox's published ones after its retention. An event
 * and an integration message parked under the same id are both discarded,
 * unless `source` names one: both or neither, the answer saying why not.
 */
export async function discardParkedMessage(db: Queryable, messageId: string, source?: ParkedSource): Promise<ParkedDiscard> {
  checkParkedSource(source);
  // Every parked message has a UUID: anything else is not one of them.
  if (!isUuid(messageId)) return 'not_parked';
  const { rows } = await db.query<DiscardRow>(DISCARD_SQL, [messageId, source ?? null, EVENTS_PUBLISHER, OUTBOX_PUBLISHER]);
  if (rows.length === 0) return 'not_parked';
  if (rows.every((row) => row.discarded)) {
    recordDiscards(messageId, rows);
    return 'discarded';
  }
  return rows.some((row) => row.requeued) ? 'requeued' : 'not_passed_yet';
}
