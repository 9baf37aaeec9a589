import { asDatabaseError, DeletionStoppedError, exactTimestampText, OWN_STATEMENTS_IDLE_MS, retentionSeconds, type Db } from '../db';

export interface OutboxRetention {
  /**
   * How long integration messages stay (for audit and replays), counted from when
   * they were written: counting from the publish would cost a write per published
   * message. A message is deleted only once published, so one that waited longer
   * than this goes in the run that publishes it (or, while a pass goes on past a
   * great many rows to keep, once the next pass reaches it). Default one day.
   */
  retentionMs: number;
  batchSize: number;
  /** Bounds one run's work: at most batchSize * maxBatches rows deleted. */
  maxBatches: number;
}

/**
 * A statement walks at most this many old rows for each it may delete (and, when it
 * finds fewer than its batch, walks the age index as far again to where its window
 * ended): its time is bounded, however many it must keep.
 */
const OUTBOX_CLEANUP_WALK_PER_ROW = 10;

// Published means behind its partition's checkpoint. A row of the old outbox (a stored
// event, marked published before publishing moved to the feed) also tells the events
// publisher to skip that event (eventMessages.ts), so it stays until the event is behind
// the checkpoint of its stream's partition there too. A parked message stays for a
// person. Oldest first (outbox_created, migration 0024), after the cursor: a window of at
// most $8 old rows, walked in that one ordered index walk, each row checked as it comes
// (as joins, the planner could sort every old row after the cursor), until the batch is
// full. Its rows are then locked by key, rows another publisher is deleting right now
// skipped. The next statement starts after the batch's last row when it filled, else
// after the window, whose end only a batch short of its rows looks up; none there, or no
// old row after where the next would start (one look in the index), means the walk
// reached the last old row. The cursor goes out and back as ISO text in UTC,
// which every DateStyle and time zone reads back the same.
const oldRowsAfter = (position: string) => `o.created_at < now() - make_interval(secs => $1)
      AND (o.created_at, o.id) > ${position}
    ORDER BY o.created_at, o.id`;
const OLD_ROWS_AFTER_CURSOR = oldRowsAfter('($6::timestamptz, $7::bigint)');
const DELETE_SQL = `
  WITH chosen AS MATERIALIZED (
    SELECT w.id, w.created_at FROM (
      SELECT o.id, o.created_at, o.message_id, o.event_id, o.tx_id, o.ordering_key, o.published_at FROM outbox o
      WHERE ${OLD_ROWS_AFTER_CURSOR}
      LIMIT $8) AS w
    WHERE CASE
        WHEN EXISTS (SELECT FROM parked_messages pm
          WHERE pm.message_id = w.message_id AND pm.source = CASE WHEN w.event_id IS NULL THEN 'outbox' ELSE 'events' END) THEN false
        WHEN w.event_id IS NULL THEN (w.tx_id, w.id) <= (
          SELECT p.checkpoint_tx, p.checkpoint_position FROM processor_partitions p
          WHERE p.processor = $3 AND p.partition = stream_partition(w.ordering_key, $4))
        ELSE w.published_at IS NOT NULL AND EXISTS (
          SELECT FROM events e
          JOIN feed_processors f ON f.name = $5
          JOIN processor_partitions ep ON ep.processor = f.name AND ep.partition = stream_partition(e.stream_id, f.partitions)
          WHERE e.event_id = w.event_id AND (e.tx_id, e.global_position) <= (ep.checkpoint_tx, ep.checkpoint_position))
        END
    ORDER BY w.created_at, w.id
    LIMIT $2),
  doomed AS (SELECT o.id FROM outbox o WHERE o.id IN (SELECT id FROM chosen) FOR UPDATE OF o SKIP LOCKED),
  gone AS (DELETE FROM outbox WHERE id IN (SELECT id FROM doomed) RETURNING id),
  batch AS (SELECT count(*)::int AS n FROM chosen),
  next AS (
    (SELECT c.created_at, c.id FROM chosen c WHERE (SELECT n FROM batch) = $2 ORDER BY c.created_at DESC, c.id DESC LIMIT 1)
    UNION ALL
    SELECT o.created_at, o.id FROM (SELECT o.created_at, o.id FROM outbox o WHERE (SELECT n FROM batch) < $2 AND ${OLD_ROWS_AFTER_CURSOR} OFFSET $8 - 1 LIMIT 1) AS o)
  SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT n FROM batch) AS chosen,
    ${exactTimestampText('n.created_at')} AS next_created_at, n.id::text AS next_id, after_next.id IS NOT NULL AS more
  FROM (SELECT) AS one LEFT JOIN next n ON true
  LEFT JOIN LATERAL (
    SELECT o.id FROM outbox o WHERE ${oldRowsAfter('(n.created_at, n.id)')} LIMIT 1) AS after_next ON true`;

interface DeletedBatch {
  deleted: number;
  /** The window's deletable rows this batch took: a full batch leaves the window's rest for the next. */
  chosen: number;
  next_created_at: string | null;
  next_id: string | null;
  /** Old rows lie after where the next batch would start. */
  more: boolean;
}

/** Where a cleanup stopped in the outbox's oldest-first order: the next one goes on after it. */
export interface OutboxCleanupCursor {
  createdAt: string;
  id: string;
}

const QUERY_CANCELED = '57014';
// The statement timeout is set to what is left until the pass's end, from before the
// statement is sent: it fires at that end or after it, on the database's clock.
const OWN_BOUND_SLACK_MS = 100;

/**
 * How long one publisher run's cleanup may take, from its start: it runs after
 * the run's deadline has ended the publishing, in the time the run keeps for
 * its wrap-up, and a busy publisher that always uses its whole time must clean
 * up too.
 */
export const OUTBOX_CLEANUP_MAX_MS = 1_000;

/** What a cleanup deleted, whether it stopped (its time or its batches used up) with old rows still to look at, and where the next one goes on. */
export interface OutboxCleanup {
  deleted: number;
  cutShort: boolean;
  /**
   * Where the next cleanup goes on, in a pass that had to walk past a whole
   * window of rows to keep; null otherwise, and once the pass reached the last
   * old row: the next cleanup starts over from the oldest.
   */
  resumeAfter: OutboxCleanupCursor | null;
}

/**
 * Deletes published integration messages written longer ago than the
 * retention, never one still to publish or parked, from the oldest or, going
 * on with a pass, after `from`. Each of its `maxBatches` statements deletes at
 * most `batchSize` rows and walks at most OUTBOX_CLEANUP_WALK_PER_ROW times as
 * many, so each stays short however many rows it must keep. A pass that met a
 * whole window of rows to keep goes on where it stopped (`resumeAfter`) until
 * it reaches the last old row, so a great many of them hold up one run for a
 * few statements, not every run for ever. Other passes start from the oldest
 * each time: a message published late (a requeue, an outage) goes in the run
 * that publishes it. No batch starts past `until`, and one running into it is
 * cancelled there (its deletions rolled back, for a later run). Either way,
 * and when its `maxBatches` are used up, before the walk reaches the last old
 * row, it is `cutShort`: rows past their retention may be left, for a later
 * run. Unless the last batch it did met only rows it must keep (parked or
 * waiting): a pass through a great many of them would warn on run after run
 * with nothing to delete. Deletable rows past such a batch are then said by
 * the next run, which goes on from there. A cleanup cut short run after run
 * does not keep up with what the service writes. PGlite ignores statement
 * timeouts: there a batch under way runs to its end. A batch that
 * fails otherwise after earlier ones deleted rows throws DeletionStoppedError,
 * saying how many are gone for good.
 */
export async function deleteExpiredOutboxRows(
  db: Db,
  policy: OutboxRetention,
  processors: { outbox: string; partitions: number; events: string },
  until = Number.POSITIVE_INFINITY,
  from: OutboxCleanupCursor | null = null,
): Promise<OutboxCleanup> {
  let after = from;
  let deleted = 0;
  // Whether this pass has met a window of rows to keep: only then is it worth going on with.
  let pastKeptRows = from !== null;
  // Whether the last batch done found rows to delete (null before the first is done). Stopped
  // then, by its time or its batches, it may leave more behind; stopped after walking only
  // rows it must keep (parked, or waiting), it knows of none: a pass through a great many of
  // them would otherwise warn on run after run with nothing to delete.
  let lastBatchDeleting: boolean | null = null;
  const walk = policy.batchSize * OUTBOX_CLEANUP_WALK_PER_ROW;
  const stopped = (): OutboxCleanup => ({ deleted, cutShort: lastBatchDeleting ?? true, resumeAfter: pastKeptRows ? after : null });
  for (let batch = 0; batch < policy.maxBatches; batch += 1) {
    if (Date.now() >= until) return stopped();
    const params = [retentionSeconds(policy.retentionMs), policy.batchSize, processors.outbox, processors.partitions, processors.events, after?.createdAt ?? '-infinity', after?.id ?? '0', walk];
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
      }, { idleTimeoutMs: OWN_STATEMENTS_IDLE_MS });
    } catch (error) {
      // Its own time bound (the statement timeout it set) cuts the pass short; any other
      // cancel (an operator's pg_cancel_backend, a role's own statement_timeout) fails it, saying why.
      if (asDatabaseError(error)?.code === QUERY_CANCELED && Date.now() >= until - OWN_BOUND_SLACK_MS) return stopped();
      // The batches before it committed: their rows are gone for good, and said so.
      throw deleted === 0 ? error : new DeletionStoppedError(deleted, error);
    }
    if (row === 'no time left') return stopped();
    deleted += row?.deleted ?? 0;
    // No old row left after this batch's end, or its window's: the walk reached the last one.
    if (!row?.next_created_at || !row.next_id || !row.more) return { deleted, cutShort: false, resumeAfter: null };
    after = { createdAt: row.next_created_at, id: row.next_id };
    if (row.chosen === 0) pastKeptRows = true;
    lastBatchDeleting = row.chosen > 0;
  }
  return stopped();
}
