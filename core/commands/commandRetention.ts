import { deleteOlderThan, type BatchedDeletion, type Queryable, type RetentionOptions } from '../db';

// Oldest first, a batch at a time. Rows another cleanup is deleting are skipped, not
// waited for (see processedMessagesRetention.ts); a record locked by its command is
// skipped too, and one locked here is checked again as it is now, so a record that
// went back to pending meanwhile is kept.
const DELETE_FINISHED_SQL = `
  DELETE FROM commands WHERE command_id IN (
    SELECT command_id FROM commands
    WHERE status <> 'pending' AND updated_at < now() - make_interval(secs => $1)
    ORDER BY updated_at LIMIT $2
    FOR UPDATE SKIP LOCKED)`;

/**
 * Deletes finished command records (succeeded or refused) older than the
 * retention, up to `batches` batches. A command id is honoured for that long:
 * sent again later, it runs again. Pending commands are never deleted.
 * Options no cleanup could run with are refused with RetentionOptionsError.
 */
export function deleteFinishedCommands(db: Queryable, options: RetentionOptions): Promise<BatchedDeletion> {
  return deleteOlderThan(db, DELETE_FINISHED_SQL, options);
}
