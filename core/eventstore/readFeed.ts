import type { Queryable } from '../db';
import { findUnstorableText } from '../text/storableText';
import { checkpointAfterPage, isStorableCheckpoint, START_OF_FEED, type Checkpoint } from './checkpoint';
import { EventValidationError } from './errors';
import { EVENT_COLUMNS, holdsEvent, toRecordedEvent, type EventTuple } from './eventRow';
import type { EventShape, FeedPage, FeedPartition, ReadFeedOptions, RecordedEvent } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';

export const DEFAULT_FEED_BATCH_SIZE = 500;
export const MAX_FEED_BATCH_SIZE = 10_000;
export const MAX_FEED_PARTITIONS = 1024;

/** A filtered page's closing row: the visible head's position, and no event. */
type HeadTuple = [globalPosition: string, txId: string, ...null[]];

// Only transactions below the snapshot's xmin are read: every one of them has
// committed or aborted, and any transaction that commits later has a larger id,
// so nothing can ever appear behind a checkpoint taken from this page.
// Unfiltered, the planner's estimates hold and it walks the feed index itself;
// a short page ends at the visible head, so the page is all there is to read.
const READ_FEED_SQL = `
  WITH horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
  SELECT ${EVENT_COLUMNS} FROM events e
  WHERE (e.tx_id, e.global_position) > ($1::xid8, $2::bigint) AND e.tx_id < (SELECT xmin FROM horizon)
  ORDER BY e.tx_id, e.global_position
  LIMIT $3`;

// Filtered, the page may end before the head; the head (a last row holding only
// its position) lets the reader skip what did not match. A filter the planner
// cannot estimate (a partition's hash, a rare type) can make it gather and sort
// every event after the cursor for each page; read_feed_page_with_head
// (migrations/0020) pins the ordered walk of the feed index instead, and its
// ordinality is its order.
const READ_FILTERED_FEED_SQL = `
  SELECT ${EVENT_COLUMNS}
  FROM read_feed_page_with_head($1::xid8, $2::bigint, pg_snapshot_xmin(pg_current_snapshot()), $5::integer,
                                $3::text[], $4::text[], $6::integer, $7::integer) WITH ORDINALITY AS e
  ORDER BY e.ordinality`;

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
  if (!isStorableCheckpoint(after)) {
    throw new EventValidationError([{ path: 'after', message: 'must be a checkpoint PostgreSQL can hold: a transaction id and a position, whole and not negative' }]);
  }
  const unstorable = findUnstorableText({ eventTypes: options.eventTypes, streamTypes: options.streamTypes });
  if (unstorable.length > 0) throw new EventValidationError(unstorable);
  const filtered = options.eventTypes !== undefined || options.streamTypes !== undefined || partition !== undefined;
  const cursor = [after.txId.toString(), after.position.toString()];
  const { rows } = filtered
    ? await db.query<EventTuple | HeadTuple>(READ_FILTERED_FEED_SQL, [
        ...cursor,
        // Renamed event types are stored under their old names too: filter on all of them.
        options.eventTypes ? options.eventTypes.flatMap((type) => upcaster.storedTypesOf(type)) : null,
        options.streamTypes ?? null,
        batchSize,
        partition?.count ?? null,
        partition?.index ?? null,
      ], { name: 'read_feed_filtered', rowMode: 'array' })
    : await db.query<EventTuple>(READ_FEED_SQL, [...cursor, batchSize], { name: 'read_feed', rowMode: 'array' });
  const wanted = options.eventTypes ? new Set(options.eventTypes) : undefined;
  const events: RecordedEvent[] = [];
  let stored = 0;
  let last: RecordedEvent | undefined;
  let visibleHead: Checkpoint | undefined;
  for (const row of rows) {
    if (!holdsEvent(row)) {
      visibleHead = { txId: BigInt(row[1]), position: BigInt(row[0]) };
      continue;
    }
    last = toRecordedEvent(row);
    stored += 1;
    const current = upcaster.upcast(last);
    if (!wanted || wanted.has(current.type)) events.push(current);
  }
  const checkpoint = checkpointAfterPage(after, last && { txId: last.txId, position: last.globalPosition }, visibleHead);
  return { events: events as FeedPage<E>['events'], checkpoint, caughtUp: stored < batchSize };
}
