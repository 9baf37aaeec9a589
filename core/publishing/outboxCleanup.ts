import { asDatabaseError, exactTimestampText, type Db } from '../db';

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
// person. Oldest first (outbox_created, migration 0024), after the run's previous batch:
// a row examined and kept is not examined again in the run. The checks are per row, in
// the filter of that one ordered index walk: as joins, the planner could sort every old row
// after the cursor for each batch. The cursor goes out and back as ISO text in UTC, which
// every DateStyle and time zone reads back the same. Rows another publisher is
// deleting right now are skipped.
const DELETE_SQL = `
  WITH doomed AS (
    SELECT o.id, o.created_at FROM outbox o
    WHERE o.created_at < now() - make_interval(secs => $1 / 1000.0)
      AND (o.created_at, o.id) > ($6::timestamptz, $7::bigint)
      AND CASE
        WHEN EXISTS (SELECT FROM parked_messages pm
          WHERE pm.message_id = o.message_id AND pm.source = CASE WHEN o.event_id IS NULL THEN 'outbox' ELSE 'events' END) THEN false
        WHEN o.event_id IS NULL THEN (o.tx_id, o.id) <= (
          SELECT p.checkpoint_tx, p.checkpoint_position FROM processor_partitions p
          WHERE p.processor = $3 AND p.partition = stream_partition(o.ordering_key, $4))
        ELSE o.published_at IS NOT NULL AND EXISTS (
          SELECT FROM events e
          JOIN feed_processors f ON f.name = $5
          JOIN processor_partitions ep ON ep.processor = f.name AND ep.partition = stream_partition(e.stream_id, f.partitions)
          WHERE e.event_id = o.event_id AND (e.tx_id, e.global_position) <= (ep.checkpoint_tx, ep.checkpoint_position))
        END
    ORDER BY o.created_at, o.id
    LIMIT $2
    FOR UPDATE OF o SKIP LOCKED),
  gone AS (DELETE FROM outbox WHERE id IN (SELECT id FROM doomed) RETURNING id)
  SELECT (SELECT count(*) FROM gone)::int AS deleted,
    ${exactTimestampText('last.created_at')} AS last_created_at, last.id::text AS last_id
  FROM (SELECT) AS one
  LEFT JOIN LATERAL (SELECT created_at, id FROM doomed ORDER BY created_at DESC, id DESC LIMIT 1) AS last ON true`;

interface DeletedBatch {
  deleted: number;
  last_created_at: string | null;
  last_id: string | null;
}

const QUERY_CANCELED = '57014';

/**
 * How long one publisher run's cleanup may take, from its start: it runs after
 * the run's deadline has ended the publishing, in the time the run keeps for
 * its wrap-up, and a busy publisher that always uses its whole time must clean
 * up too.
 */
export const OUTBOX_CLEANUP_MAX_MS = 1_000;

/** What a cleanup deleted, and whether its time ran out with rows still to look at. */
export interface OutboxCleanup {
  deleted: number;
  cutShort: boolean;
}

/**
 * Deletes published integration messages written longer ago than the
 * retention, never one still to publish or parked. No batch starts past
 * `until`, and one running into it is cancelled there (its deletions rolled
 * back, for a later run): a batch walks every old row it must keep, so with
 * many parked messages one batch alone could outlast a function's time.
 * Either way it is `cutShort`: rows past their retention may be left that it
 * had no time to look at, not only what `maxBatches` leaves for a later run.
 * PGlite ignores statement timeouts: there a batch under way runs to its end.
 */
export async function deleteExpiredOutboxRows(
  db: Db,
  policy: OutboxRetention,
  processors: { outbox: string; partitions: number; events: string },
  until = Number.POSITIVE_INFINITY,
): Promise<OutboxCleanup> {
  let after: [string, string] = ['-infinity', '0'];
  let deleted = 0;
  for (let batch = 0; batch < policy.maxBatches; batch += 1) {
    if (Date.now() >= until) return { deleted, cutShort: true };
    const params = [policy.retentionMs, policy.batchSize, processors.outbox, processors.partitions, processors.events, ...after];
    let row: DeletedBatch | 'no time left' | undefined;
    try {
      row = await db.transaction(async (tx) => {
        // What is left once the transaction has its connection: waiting for one counts too.
        const leftMs = Math.ceil(until - Date.now());
        if (leftMs <= 0) return 'no time left';
        if (Number.isFinite(until)) await tx.query("SELECT set_config('statement_timeout', $1, true)", [String(leftMs)]);
        // Unnamed, so each batch is planned for its own cursor: a prepared statement's generic
        // plan (from its sixth run on a connection) read every old row in every batch.
        return (await tx.query<DeletedBatch>(DELETE_SQL, params)).rows[0];
      });
    } catch (error) {
      if (asDatabaseError(error)?.code === QUERY_CANCELED) return { deleted, cutShort: true };
      throw error;
    }
    if (row === 'no time left') return { deleted, cutShort: true };
    deleted += row?.deleted ?? 0;
    if (!row?.last_created_at || !row.last_id || (row.deleted < policy.batchSize)) break;
    after = [row.last_created_at, row.last_id];
  }
  return { deleted, cutShort: false };
}
