import { deleteOlderThan, type BatchedDeletion, type Queryable, type RetentionOptions } from '../db';

// Oldest first, a batch at a time.
const DELETE_FINISHED_SQL = `
  DELETE FROM commands WHERE command_id IN (
    SELECT command_id FROM commands
    WHERE status <> 'pending' AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
    ORDER BY updated_at LIMIT $2)`;

/**
 * Deletes finished command records (succeeded or refused) older than the
 * retention, up to `batches` batches. A command id is honoured for that long:
 * sent again later, it runs again. Pending commands are never deleted.
 * Options no cleanup could run with are refused with RetentionOptionsError.
 */
export function deleteFinishedCommands(db: Queryable, options: RetentionOptions): Promise<BatchedDeletion> {
  return deleteOlderThan(db, DELETE_FINISHED_SQL, options);
}
