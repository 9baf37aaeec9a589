import type { Queryable } from '../db';

// Oldest first, a batch at a time: each statement is short, however far behind the cleanup is.
const DELETE_FINISHED_SQL = `
  DELETE FROM commands WHERE command_id IN (
    SELECT command_id FROM commands
    WHERE status <> 'pending' AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
    ORDER BY updated_at LIMIT $2)`;

export interface RetentionRun {
  deleted: number;
  /** A batch came back full: more are waiting for the next run. */
  more: boolean;
}

/**
 * Deletes finished command records (succeeded or refused) older than the
 * retention, up to `batches` batches. A command id is honoured for that long:
 * sent again later, it runs again. Pending commands are never deleted.
 */
export async function deleteFinishedCommands(db: Queryable, options: { retentionMs: number; batchSize?: number; batches?: number }): Promise<RetentionRun> {
  const batchSize = options.batchSize ?? 1_000;
  let deleted = 0;
  for (let batch = 0; batch < (options.batches ?? 10); batch += 1) {
    const { rowCount } = await db.query(DELETE_FINISHED_SQL, [options.retentionMs, batchSize]);
    deleted += rowCount;
    if (rowCount < batchSize) return { deleted, more: false };
  }
  return { deleted, more: true };
}
