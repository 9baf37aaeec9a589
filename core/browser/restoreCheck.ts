import { OWN_STATEMENTS_IDLE_MS, type Db, type Queryable } from '../db';

/**
 * What a dump/restore or a logical copy into another cluster does to the feed:
 * events keep the transaction ids of the cluster they were written in. Readers
 * take only what lies below the oldest transaction still running in *this*
 * cluster, so events whose ids are above its counter stay invisible to every
 * projection, saga and publisher until the counter passes them, and new appends
 * get lower ids than they do, so the feed would order new events first.
 */
export interface RestoreCheck {
  /** Events whose transaction id is at or above this cluster's next one. */
  eventsAhead: number;
  /** Outbox rows likewise. */
  outboxAhead: number;
  /**
   * Requeued parked messages whose requeue's transaction is likewise: a
   * publisher that reads the requeue takes it for one made after its snapshot,
   * and keeps it when NATS refuses the message again, every run.
   */
  requeuesAhead: number;
  highestTxId: string;
  /** This cluster's next transaction id. */
  nextTxId: string;
}

const CHECK_SQL = `
  SELECT (SELECT count(*)::int FROM events WHERE tx_id >= pg_snapshot_xmax(pg_current_snapshot())) AS events_ahead,
         (SELECT count(*)::int FROM outbox WHERE tx_id >= pg_snapshot_xmax(pg_current_snapshot())) AS outbox_ahead,
         (SELECT count(*)::int FROM parked_messages WHERE requeued_at IS NOT NULL AND requeued_by >= pg_snapshot_xmax(pg_current_snapshot())) AS requeues_ahead,
         (SELECT coalesce(max(tx_id)::text, '0') FROM events) AS highest,
         pg_snapshot_xmax(pg_current_snapshot())::text AS next`;

/** How many rows a restore left above this cluster's counter, of every kind the check counts. */
export const rowsAhead = (check: RestoreCheck): number => check.eventsAhead + check.outboxAhead + check.requeuesAhead;

export async function checkRestore(db: Queryable): Promise<RestoreCheck> {
  const { rows } = await db.query<{ events_ahead: number; outbox_ahead: number; requeues_ahead: number; highest: string; next: string }>(CHECK_SQL);
  const row = rows[0];
  return {
    eventsAhead: row?.events_ahead ?? 0,
    outboxAhead: row?.outbox_ahead ?? 0,
    requeuesAhead: row?.requeues_ahead ?? 0,
    highestTxId: row?.highest ?? '0',
    nextTxId: row?.next ?? '0',
  };
}

// Each distinct transaction id, ranked in order: the order the feed reads in is kept exactly.
const RANKS_SQL = `
  CREATE TEMP TABLE restored_tx_ranks ON COMMIT DROP AS
  SELECT tx_id, row_number() OVER (ORDER BY tx_id)::text::xid8 AS rank
  FROM (SELECT tx_id FROM events UNION SELECT tx_id FROM outbox WHERE tx_id IS NOT NULL) AS all_ids`;

// One subtransaction per id: each takes the next transaction id of the cluster.
const ADVANCE_COUNTER_SQL = `
  DO $$
  DECLARE needed bigint := (SELECT count(*) FROM restored_tx_ranks) + 2 - pg_snapshot_xmax(pg_current_snapshot())::text::bigint;
  BEGIN
    CREATE TEMP TABLE restore_counter_burn (n integer) ON COMMIT DROP;
    FOR i IN 1..greatest(needed, 0) LOOP
      BEGIN
        INSERT INTO restore_counter_burn VALUES (i);
      EXCEPTION WHEN OTHERS THEN NULL;
      END;
    END LOOP;
  END $$`;

// A requeue made in the other cluster is older than any snapshot here: null says every snapshot
// has seen it (migration 0030). Only its transaction is above the counter, not anything the feed orders.
const REQUEUES_SEEN_SQL = 'UPDATE parked_messages SET requeued_by = NULL WHERE requeued_by >= pg_snapshot_xmax(pg_current_snapshot())';

const REWRITE_SQL = [
  'ALTER TABLE events DISABLE TRIGGER events_append_only_rows',
  'UPDATE events e SET tx_id = r.rank FROM restored_tx_ranks r WHERE e.tx_id = r.tx_id',
  'UPDATE outbox o SET tx_id = r.rank FROM restored_tx_ranks r WHERE o.tx_id = r.tx_id',
  // The story index finds its events by their place in the feed.
  'UPDATE story_keys k SET tx_id = r.rank FROM restored_tx_ranks r WHERE k.tx_id = r.tx_id',
  // A message stored from behind a waiting one keeps its place, or its checkpoint would never be seen to pass it.
  // A record whose message is gone (cleaned up) marks nothing, and no checkpoint would pass its old place: it goes.
  'DELETE FROM published_ahead a WHERE NOT EXISTS (SELECT FROM restored_tx_ranks r WHERE r.tx_id = a.tx_id)',
  'UPDATE published_ahead a SET tx_id = r.rank FROM restored_tx_ranks r WHERE a.tx_id = r.tx_id',
  // A checkpoint or starting point sits on an event's transaction (or at the start, 0): it moves with it.
  `UPDATE processor_partitions p SET checkpoint_tx = coalesce((SELECT max(r.rank) FROM restored_tx_ranks r WHERE r.tx_id <= p.checkpoint_tx), '0')
   WHERE checkpoint_tx <> '0'`,
  `UPDATE feed_processors f SET start_tx = coalesce((SELECT max(r.rank) FROM restored_tx_ranks r WHERE r.tx_id <= f.start_tx), '0')
   WHERE start_tx <> '0'`,
  'ALTER TABLE events ENABLE TRIGGER events_append_only_rows',
];

/**
 * The documented fix: renumber the stored transaction ids 1, 2, 3... in their
 * order (the feed's order is unchanged), move every checkpoint with them, and
 * make sure this cluster's counter is past them all, in one transaction. Run it
 * with nothing appending (right after the restore). Returns the check after it;
 * when nothing lies above the counter, it changes nothing.
 */
export async function fixRestore(db: Db): Promise<RestoreCheck> {
  // Nothing above the counter: nothing is rewritten (renumbering would touch every row for nothing).
  const before = await checkRestore(db);
  if (rowsAhead(before) === 0) return before;
  await db.query(REQUEUES_SEEN_SQL);
  if (before.eventsAhead + before.outboxAhead === 0) return checkRestore(db);
  await db.transaction(async (tx) => {
    await tx.query(RANKS_SQL);
    for (const statement of REWRITE_SQL) await tx.query(statement);
  }, { idleTimeoutMs: OWN_STATEMENTS_IDLE_MS });
  // The counter is advanced after the rewrite: its subtransactions' ids must be above the new ranks, and are.
  await db.transaction(async (tx) => {
    await tx.query(RANKS_SQL);
    await tx.query(ADVANCE_COUNTER_SQL);
  }, { idleTimeoutMs: OWN_STATEMENTS_IDLE_MS });
  return checkRestore(db);
}
