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

// Published means behind its partition's checkpoint (or marked, for rows of the old
// outbox); a parked message stays for a person. Oldest first, skipping rows another
// publisher is deleting right now.
const DELETE_SQL = `
  DELETE FROM outbox WHERE id IN (
    SELECT o.id FROM outbox o
    LEFT JOIN processor_partitions p ON p.processor = $3 AND p.partition = stream_partition(o.ordering_key, $4)
    WHERE o.created_at < now() - make_interval(secs => $1 / 1000.0)
      AND (o.published_at IS NOT NULL OR (o.tx_id, o.id) <= (p.checkpoint_tx, p.checkpoint_position))
      AND NOT EXISTS (SELECT FROM parked_messages pm WHERE pm.message_id = o.message_id)
    ORDER BY o.id
    LIMIT $2
    FOR UPDATE OF o SKIP LOCKED)`;

/** Deletes published integration messages written longer ago than the retention, never one still to publish or parked. */
export async function deleteExpiredOutboxRows(
  db: Queryable,
  policy: OutboxRetention,
  processor: { name: string; partitions: number },
): Promise<number> {
  const params = [policy.retentionMs, policy.batchSize, processor.name, processor.partitions];
  return (await deleteInBatches(db, DELETE_SQL, params, policy)).deleted;
}
