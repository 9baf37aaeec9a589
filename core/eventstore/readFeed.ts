import type { Queryable } from '../db';
import { compareCheckpoints, START_OF_FEED, type Checkpoint } from './checkpoint';
import { EventValidationError } from './errors';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './eventRow';
import type { EventShape, FeedPage, FeedPartition, ReadFeedOptions, RecordedEvent } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';

export const DEFAULT_FEED_BATCH_SIZE = 500;
export const MAX_FEED_BATCH_SIZE = 10_000;
export const MAX_FEED_PARTITIONS = 1024;

/** An event (or, on an empty filtered page, nulls) and, when filtered, the visible head. */
type FeedRow = { head_tx?: string | null; head_position?: string | null } & (EventRow | { [K in keyof EventRow]: null });

// Only transactions below the snapshot's xmin are read: every one of them has
// committed or aborted, and any transaction that commits later has a larger id,
// so nothing can ever appear behind a checkpoint taken from this page.
const HORIZON = 'horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)';
// Unfiltered, the planner's estimates hold and it walks the feed index itself;
// a short page ends at the visible head, so the page is all there is to read.
const READ_FEED_SQL = `
  WITH ${HORIZON}
  SELECT ${EVENT_COLUMNS} FROM events e
  WHERE (e.tx_id, e.global_position) > ($1::xid8, $2::bigint) AND e.tx_id < (SELECT xmin FROM horizon)
  ORDER BY e.tx_id, e.global_position
  LIMIT $3`;

// Filtered, the page may end before the head; the head lets the reader skip what
// did not match. A filter the planner cannot estimate (a partition's hash, a rare
// type) can make it gather and sort every event after the cursor for each page;
// read_feed_page (migrations/0011, in PL/pgSQL since 0019) pins the ordered walk of the feed index instead.
const READ_FILTERED_FEED_SQL = `
  WITH ${HORIZON},
  page AS (
    SELECT ${EVENT_COLUMNS}
    FROM read_feed_page($1::xid8, $2::bigint, (SELECT xmin FROM horizon), $5::integer,
                        $3::text[], $4::text[], $6::integer, $7::integer) AS e
  ),
  head AS (
    SELECT e.tx_id AS head_tx, e.global_position AS head_position FROM events e
    WHERE e.tx_id < (SELECT xmin FROM horizon)
    ORDER BY e.tx_id DESC, e.global_position DESC
    LIMIT 1
  )
  SELECT page.*, head.head_tx, head.head_position
  FROM (SELECT) AS one
  LEFT JOIN head ON true
  LEFT JOIN page ON true
  ORDER BY page.tx_id, page.global_position`;

function validatePartition({ index, count }: FeedPartition): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_FEED_PARTITIONS) {
    throw new EventValidationError([{ path: 'partition.count', message: `must be an integer from 1 to ${MAX_FEED_PARTITIONS}` }]);
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new EventValidationError([{ path: 'partition.index', message: `must be an integer from 0 to ${count - 1}` }]);
  }
}

/** Reads the next page of the global feed after a checkpoint, in commit-safe order. */
export async function readFeed<E extends EventShape = EventShape>(
  db: Queryable,
  options: ReadFeedOptions = {},
  upcaster: EventUpcaster = NO_UPCASTING,
): Promise<FeedPage<E>> {
  const after = options.after ?? START_OF_FEED;
  const batchSize = options.batchSize ?? DEFAULT_FEED_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_FEED_BATCH_SIZE) {
    throw new EventValidationError([
      { path: 'batchSize', message: `must be an integer from 1 to ${MAX_FEED_BATCH_SIZE}` },
    ]);
  }
  const { partition } = options;
  if (partition !== undefined) validatePartition(partition);
  const filtered = options.eventTypes !== undefined || options.streamTypes !== undefined || partition !== undefined;
  const cursor = [after.txId.toString(), after.position.toString()];
  const { rows } = filtered
    ? await db.query<FeedRow>(READ_FILTERED_FEED_SQL, [
        ...cursor,
        // Renamed event types are stored under their old names too: filter on all of them.
        options.eventTypes ? options.eventTypes.flatMap((type) => upcaster.storedTypesOf(type)) : null,
        options.streamTypes ?? null,
        batchSize,
        partition?.count ?? null,
        partition?.index ?? null,
      ], { name: 'read_feed_filtered' })
    : await db.query<FeedRow>(READ_FEED_SQL, [...cursor, batchSize], { name: 'read_feed' });
  const stored = rows.flatMap((row) => (row.event_id === null ? [] : [toRecordedEvent(row)]));
  const last = stored[stored.length - 1];
  let checkpoint: Checkpoint = last ? { txId: last.txId, position: last.globalPosition } : after;
  const caughtUp = stored.length < batchSize;
  const wanted = options.eventTypes ? new Set(options.eventTypes) : undefined;
  const events: RecordedEvent[] = [];
  for (const event of stored) {
    const current = upcaster.upcast(event);
    if (!wanted || wanted.has(current.type)) events.push(current);
  }
  const head = rows[0];
  if (caughtUp && head?.head_tx != null && head.head_position != null) {
    const visibleHead = { txId: BigInt(head.head_tx), position: BigInt(head.head_position) };
    if (compareCheckpoints(visibleHead, checkpoint) > 0) checkpoint = visibleHead;
  }
  return { events: events as FeedPage<E>['events'], checkpoint, caughtUp };
}
