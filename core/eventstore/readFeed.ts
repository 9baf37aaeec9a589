import type { Queryable } from '../db';
import { findUnstorableText } from '../text';
import { checkpointAfterPage, checkStorableCheckpoint, START_OF_FEED, type Checkpoint } from './checkpoint';
import { isFeedFilter, MAX_NAME_LENGTH } from './appendShape';
import { EventValidationError } from './errors';
import { EVENT_COLUMNS, holdsEvent, toRecordedEvent, type EventTuple } from './eventRow';
import type { EventShape, FeedPage, FeedPartition, ReadFeedOptions, RecordedEvent } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';

export const DEFAULT_FEED_BATCH_SIZE = 500;
export const MAX_FEED_BATCH_SIZE = 10_000;
export const MAX_FEED_PARTITIONS = 1024;

/**
 * How many events a filtered page walks at most (or its batch size times its
 * partition count, if more: a partition's page then still fills): a reader
 * filtered to a rare type, behind millions of other events, gets past them a
 * window at a time instead of in one statement that outlasts the pool's
 * bound, run after run.
 */
export const FEED_SCAN_BOUND = 20_000;

/**
 * A filtered page's closing row: no event, a position, and what it is: the
 * visible head, or the last event of the walk's window, with more after it.
 */
type ClosingTuple = [globalPosition: string, txId: string, null, null, null, null, closing: 'head' | 'scan_bound', ...null[]];

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

// Filtered, the page may end before the head; a closing row holding only a
// position (the head, or where the walk's window ended) lets the reader skip what
// did not match. A filter the planner cannot estimate (a partition's hash, a rare
// type) can make it gather and sort every event after the cursor for each page;
// read_feed_window (migrations/0029) pins the ordered walk of the feed index
// instead, bounds it, and its ordinality is its order.
const READ_FILTERED_FEED_SQL = `
  SELECT ${EVENT_COLUMNS}
  FROM read_feed_window($1::xid8, $2::bigint, pg_snapshot_xmin(pg_current_snapshot()), $5::integer, $8::integer,
                        $3::text[], $4::text[], $6::integer, $7::integer) WITH ORDINALITY AS e
  ORDER BY e.ordinality`;

function validatePartition(partition: FeedPartition): void {
  if (typeof partition !== 'object' || (partition as unknown) === null) {
    throw new EventValidationError([{ path: 'partition', message: 'must be { index, count }' }]);
  }
  const { index, count } = partition;
  if (!Number.isInteger(count) || count < 1 || count > MAX_FEED_PARTITIONS) {
    throw new EventValidationError([{ path: 'partition.count', message: `must be an integer from 1 to ${MAX_FEED_PARTITIONS}` }]);
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new EventValidationError([{ path: 'partition.index', message: `must be an integer from 0 to ${count - 1}` }]);
  }
}

/** Each filter is a list of names, or left out (see isFeedFilter). */
function checkFilters(options: ReadFeedOptions): void {
  for (const filter of ['eventTypes', 'streamTypes'] as const) {
    if (options[filter] !== undefined && !isFeedFilter(options[filter])) {
      throw new EventValidationError([{ path: filter, message: `must be a list of one or more type names (1 to ${MAX_NAME_LENGTH} characters), or be left out to read all` }]);
    }
  }
}

/** Reads the next page of the global feed after a checkpoint, in commit-safe order. */
export async function readFeed<E extends EventShape = EventShape>(
  db: Queryable,
  options: ReadFeedOptions = {},
  upcaster: EventUpcaster = NO_UPCASTING,
): Promise<FeedPage<E>> {
  if (typeof options !== 'object' || (options as unknown) === null) throw new EventValidationError([{ path: 'options', message: 'must be an object' }]);
  const after = options.after ?? START_OF_FEED;
  const batchSize = options.batchSize ?? DEFAULT_FEED_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_FEED_BATCH_SIZE) {
    throw new EventValidationError([
      { path: 'batchSize', message: `must be an integer from 1 to ${MAX_FEED_BATCH_SIZE}` },
    ]);
  }
  const { partition } = options;
  if (partition !== undefined) validatePartition(partition);
  checkStorableCheckpoint(after);
  checkFilters(options);
  const unstorable = findUnstorableText({ eventTypes: options.eventTypes, streamTypes: options.streamTypes });
  if (unstorable.length > 0) throw new EventValidationError(unstorable);
  const filtered = options.eventTypes !== undefined || options.streamTypes !== undefined || partition !== undefined;
  const cursor = [after.txId.toString(), after.position.toString()];
  const { rows } = filtered
    ? await db.query<EventTuple | ClosingTuple>(READ_FILTERED_FEED_SQL, [
        ...cursor,
        // Renamed event types are stored under their old names too: filter on all of them.
        options.eventTypes ? options.eventTypes.flatMap((type) => upcaster.storedTypesOf(type)) : null,
        options.streamTypes ?? null,
        batchSize,
        partition?.count ?? null,
        partition?.index ?? null,
        Math.max(batchSize * (partition?.count ?? 1), FEED_SCAN_BOUND),
      ], { name: 'read_feed_filtered', rowMode: 'array' })
    : await db.query<EventTuple>(READ_FEED_SQL, [...cursor, batchSize], { name: 'read_feed', rowMode: 'array' });
  const wanted = options.eventTypes ? new Set(options.eventTypes) : undefined;
  const events: RecordedEvent[] = [];
  let stored = 0;
  let last: RecordedEvent | undefined;
  let closing: Checkpoint | undefined;
  let windowEnded = false;
  for (const row of rows) {
    if (!holdsEvent(row)) {
      closing = { txId: BigInt(row[1]), position: BigInt(row[0]) };
      windowEnded = row[6] === 'scan_bound';
      continue;
    }
    last = toRecordedEvent(row);
    stored += 1;
    const current = upcaster.upcast(last);
    if (!wanted || wanted.has(current.type)) events.push(current);
  }
  const checkpoint = checkpointAfterPage(after, last && { txId: last.txId, position: last.globalPosition }, closing);
  return { events: events as FeedPage<E>['events'], checkpoint, caughtUp: stored < batchSize && !windowEnded };
}
