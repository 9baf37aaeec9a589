import { deleteOlderThan, type BatchedDeletion, type Queryable, type RetentionOptions } from '../db';

// Rows another cleanup is deleting are skipped, not waited for: waited for, they were
// gone once it committed, the batch came back short, and this cleanup stopped with its
// batches to spare and said nothing more was left.
const DELETE_OLD_SQL = `
  DELETE FROM processed_messages WHERE (consumer, message_id) IN (
    SELECT consumer, message_id FROM processed_messages
    WHERE processed_at < now() - make_interval(secs => $1)
    ORDER BY processed_at LIMIT $2
    FOR UPDATE SKIP LOCKED)`;

/**
 * Deletes the idempotent consumers' records of processed message ids older
 * than the retention, oldest first, in bounded batches. Keep the retention
 * longer than any redelivery or replay of the stream a consumer could see:
 * a message delivered after its record is gone would be applied again.
 * Options no cleanup could run with are refused with RetentionOptionsError.
 */
export function deleteOldProcessedMessages(db: Queryable, options: RetentionOptions): Promise<BatchedDeletion> {
  return deleteOlderThan(db, DELETE_OLD_SQL, options);
}
