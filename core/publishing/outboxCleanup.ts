import { deleteInBatches, type Queryable } from '../db';

export interface OutboxRetention {
  /**
   * How long integration messages stay (for audit and replays), counted from when
   * they were written: counting from the publish would cost a write per published
   * message. A message is deleted only once published, so one that waited longer
   * than this goes in the run that publishes it. Default one day.
   */
  retentionMs: number;
  batchSize: number;
  /** Bounds one run's work: at most batchSize * maxBatches rows deleted. */
  maxBatches: number;
}

// Published means behind its partition's checkpoint. A row of the old outbox (a stored
// event, marked published before publishing moved to the feed) also tells the events
// publisher to skip that event (eventMessages.ts), so it stays until the event is behind
// the checkpoint of its stream's partition there too. A parked message stays for a
// person. Oldest first, skipping rows another publisher is deleting right now.
const DELETE_SQL = `
  DELETE FROM outbox WHERE id IN (
    SELECT o.id FROM outbox o
    LEFT JOIN processor_partitions p ON p.processor = $3 AND p.partition = stream_partition(o.ordering_key, $4)
    WHERE o.created_at < now() - make_interval(secs => $1 / 1000.0)
      AND CASE WHEN o.event_id IS NULL THEN (o.tx_id, o.id) <= (p.checkpoint_tx, p.checkpoint_position)
        ELSE o.published_at IS NOT NULL AND EXISTS (
          SELECT FROM events e
          JOIN feed_processors f ON f.name = $5
          JOIN processor_partitions ep ON ep.processor = f.name AND ep.partition = stream_partition(e.stream_id, f.partitions)
          WHERE e.event_id = o.event_id AND (e.tx_id, e.global_position) <= (ep.checkpoint_tx, ep.checkpoint_position))
        END
      AND NOT EXISTS (SELECT FROM parked_messages pm WHERE pm.message_id = o.message_id)
    ORDER BY o.id
    LIMIT $2
    FOR UPDATE OF o SKIP LOCKED)`;

/** Deletes published integration messages written longer ago than the retention, never one still to publish or parked. */
export async function deleteExpiredOutboxRows(
  db: Queryable,
  policy: OutboxRetention,
  processors: { outbox: string; partitions: number; events: string },
): Promise<number> {
  const params = [policy.retentionMs, policy.batchSize, processors.outbox, processors.partitions, processors.events];
  return (await deleteInBatches(db, DELETE_SQL, params, policy)).deleted;
}
