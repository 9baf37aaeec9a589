import type { Queryable } from '../db';
import { checkpointAfterPage, HEADER_METADATA, feedReadingAge, LAG_SCAN_BOUND, walkStoppedShortOfHead, type Checkpoint } from '../eventstore';
import type { FeedSource, SourceLag, SourcePage } from '../processing';
import { pageWindow, upToUnsettled } from './pageOverSettled';

/** A stored event as the publisher sends it: its body and headers built by the database, as consumers have always received them. */
export interface EventMessage {
  txId: bigint;
  position: bigint;
  eventId: string;
  streamId: string;
  streamType: string;
  type: string;
  /** Empty for a settled one: it is skipped, and a page held back by a waiting event may hold thousands of them. */
  payload: string;
  headers: Record<string, string>;
  /**
   * Published through the outbox before publishing moved to the feed (migration
   * 0014), settled behind an event its partition still waits on (0036: stored,
   * parked or private), or parked: skipped. A parked event goes out again only
   * when requeued.
   */
  settledBefore: boolean;
  /**
   * Settled, and recorded so in published_ahead. One settled otherwise behind a
   * waiting event (parked by a batch that died before recording it) is recorded
   * by the next batch, so that pages step over it too.
   */
  recordedAhead: boolean;
}

/** A message's row, read as an array: messageColumns' values in order, then whether it is settled already, and recorded so. */
type MessageTuple = [
  txId: string,
  globalPosition: string,
  eventId: string,
  streamId: string,
  streamType: string,
  type: string,
  schemaVersion: number,
  version: number,
  payload: string,
  correlationId: string | null,
  causationId: string | null,
  commandId: string | null,
  traceparent: string | null,
  tracestate: string | null,
  settledBefore: boolean,
  recordedAhead: boolean,
];

/**
 * A short page's last row: no event, a position, and what it is: the visible
 * head, or the last event of the walk's window, with more after it.
 */
type ClosingTuple = [txId: string, globalPosition: string, null, null, null, closing: 'head' | 'scan_bound', ...(null | boolean)[]];
const isClosing = (row: MessageTuple | ClosingTuple): row is ClosingTuple => row[2] === null;

// The body is the event's envelope, byte for byte as json_build_object writes it
// (the outbox wrote the same). It is concatenated instead: json_build_object looks
// up each argument's type and output function for every row, which made it most of
// PostgreSQL's cost of a page (50,000 envelopes: 340 ms against 140). Every column
// is NOT NULL; text goes through to_json for JSON's escaping, and a uuid or a number
// needs none. The header values come from the database too.
const ENVELOPE = `'{"eventId" : "' || e.event_id || '", "type" : ' || to_json(e.type) ||
  ', "schemaVersion" : ' || e.schema_version || ', "streamId" : ' || to_json(e.stream_id) ||
  ', "streamType" : ' || to_json(e.stream_type) || ', "version" : ' || e.version ||
  ', "globalPosition" : "' || e.global_position || '", "recordedAt" : ' || to_json(e.recorded_at) ||
  ', "data" : ' || e.data || ', "metadata" : ' || e.metadata || '}'`;

const messageColumns = (payload: string) => `e.tx_id, e.global_position, e.event_id, e.stream_id, e.stream_type, e.type, e.schema_version, e.version,
  ${payload} AS payload,
  e.metadata ->> 'correlationId' AS correlation_id, e.metadata ->> 'causationId' AS causation_id,
  e.metadata ->> 'commandId' AS command_id, e.metadata ->> 'traceparent' AS traceparent,
  e.metadata ->> 'tracestate' AS tracestate`;

// Only transactions below the snapshot's xmin are read (see readFeed.ts), through
// read_feed_window's pinned walk of the feed index, in its order, at most a window
// of it (as a filtered feed page walks); a short page ends with a row without an
// event id: the visible head's position, or the window's end. It moves the checkpoint
// past what other partitions hold: a partition of few streams, behind a long backlog
// of the others' (NATS away for a day), gets past it a window at a time instead of in
// one statement that outlasts the pool's bound, run after run. Whether anything is settled
// already (parked, settled behind a message still waiting, or published by the old
// outbox) is asked once per page, in the page's own snapshot (an initplan): a message
// parked by another instance since this run began is skipped too.
const SETTLED_OTHERWISE = `
    CASE WHEN (SELECT EXISTS (SELECT FROM parked_messages WHERE source = 'events') OR EXISTS (SELECT FROM outbox WHERE event_id IS NOT NULL AND published_at IS NOT NULL))
      THEN EXISTS (SELECT FROM outbox o WHERE o.event_id = e.event_id AND o.published_at IS NOT NULL)
        OR EXISTS (SELECT FROM parked_messages pm WHERE pm.message_id = e.event_id AND pm.source = 'events')
      ELSE false END`;

// Recorded as settled behind a message still waiting (published_ahead), at its place.
const RECORDED_AHEAD = `
    CASE WHEN (SELECT EXISTS (SELECT FROM published_ahead WHERE processor = 'publisher:events'))
      THEN EXISTS (SELECT FROM published_ahead pa
                   WHERE pa.processor = 'publisher:events' AND pa.message_id = e.event_id AND pa.tx_id = e.tx_id AND pa.position = e.global_position)
      ELSE false END`;

const SETTLED_BEFORE = `(${SETTLED_OTHERWISE} OR ${RECORDED_AHEAD}) AS settled_before`;

// The page holds, on top of its size, as many rows as the partition has recorded as settled
// past its checkpoint (published_ahead: stored, parked or private): read again behind a
// message still waiting, those are skipped, and a page of them alone would hand out nothing
// new, run after run, while the partition's other streams waited behind the held one.
// Still within the window; their bodies are left out, as no one sends them. OFFSET 0 keeps
// the lateral a subquery of its own, asked once per row and by index: folded into the
// select list, each use of its columns was a copy of the whole check, planned as a
// hash of every parked event.
const PAGE_SQL = `
  SELECT ${messageColumns(`CASE WHEN s.settled_otherwise OR s.recorded_ahead THEN '' ELSE ${ENVELOPE} END`)},
         s.settled_otherwise OR s.recorded_ahead AS settled_before, s.recorded_ahead
  FROM read_feed_window($1::xid8, $2::bigint, pg_snapshot_xmin(pg_current_snapshot()),
                        (SELECT least($3::bigint + count(*), $6::bigint)::integer FROM published_ahead AS pa
                         WHERE pa.processor = 'publisher:events' AND pa.partition = $7::integer
                           AND (pa.tx_id, pa.position) > ($1::xid8, $2::bigint)),
                        $6::integer, NULL, NULL, $4::integer, $5::integer) WITH ORDINALITY AS e
  CROSS JOIN LATERAL (SELECT ${SETTLED_OTHERWISE} AS settled_otherwise, ${RECORDED_AHEAD} AS recorded_ahead OFFSET 0) AS s
  ORDER BY e.ordinality`;

const BY_ID_SQL = `SELECT ${messageColumns(ENVELOPE)}, false AS settled_before, false AS recorded_ahead
  FROM events e WHERE e.event_id = ANY ($1::uuid[])
  ORDER BY e.tx_id, e.global_position`;

// The metadata's columns in MessageTuple, for the headers the event store names.
const METADATA_COLUMNS: Record<keyof typeof HEADER_METADATA, 9 | 10 | 11 | 12 | 13> = {
  correlationId: 9,
  causationId: 10,
  commandId: 11,
  traceparent: 12,
  tracestate: 13,
};
const OPTIONAL_HEADERS = Object.entries(HEADER_METADATA).map(([field, name]) => [name, METADATA_COLUMNS[field as keyof typeof HEADER_METADATA]] as const);

function headersOf(row: MessageTuple): Record<string, string> {
  const headers: Record<string, string> = {
    'Event-Id': row[2],
    'Event-Type': row[5],
    'Event-Schema-Version': String(row[6]),
    'Stream-Id': row[3],
    'Stream-Type': row[4],
    'Stream-Version': String(row[7]),
  };
  for (const [name, column] of OPTIONAL_HEADERS) {
    const value = row[column];
    if (value !== null) headers[name] = value;
  }
  return headers;
}

function toMessage(row: MessageTuple): EventMessage {
  return {
    txId: BigInt(row[0]),
    position: BigInt(row[1]),
    eventId: row[2],
    streamId: row[3],
    streamType: row[4],
    type: row[5],
    payload: row[8],
    headers: headersOf(row),
    settledBefore: row[14],
    recordedAhead: row[15],
  };
}

/** The messages of these events, in feed order, for sending requeued ones again. */
export async function eventMessagesById(db: Queryable, eventIds: readonly string[]): Promise<EventMessage[]> {
  if (eventIds.length === 0) return [];
  const { rows } = await db.query<MessageTuple>(BY_ID_SQL, [eventIds], { rowMode: 'array' });
  return rows.map(toMessage);
}

// One walk of what waits in a partition past a position: the events of the partition
// published or parked already are walked but not counted (see eventLag). Read as the
// feed's own lag is (eventFeedSource): every committed event, also those the horizon
// still holds back, in the feed's order, through its pinned walk, at most
// LAG_SCAN_BOUND events; its closing row (no event id) says where it ended.
const LAG_WALK_SQL = `
  WITH walk AS (
    SELECT e.event_id, e.type, e.tx_id, e.global_position, e.recorded_at, e.ordinality, ${SETTLED_BEFORE}
    FROM read_feed_window($1::xid8, $2::bigint, pg_snapshot_xmax(pg_current_snapshot()), $3::integer, $6::integer,
                          NULL, NULL, $4::integer, $5::integer) WITH ORDINALITY AS e)
  SELECT count(w.event_id)::int AS walked, count(w.event_id) FILTER (WHERE NOT w.settled_before)::int AS items,
    coalesce(extract(epoch FROM statement_timestamp() - min(w.recorded_at) FILTER (WHERE w.event_id IS NOT NULL AND NOT w.settled_before)), 0)::float8 AS oldest_age_seconds,
    (array_agg(w.tx_id::text ORDER BY w.ordinality DESC) FILTER (WHERE w.event_id IS NOT NULL))[1] AS last_tx,
    (array_agg(w.global_position::text ORDER BY w.ordinality DESC) FILTER (WHERE w.event_id IS NOT NULL))[1] AS last_position,
    ${walkStoppedShortOfHead('walk')} AS window_ended
  FROM walk AS w`;

interface LagWalk {
  walked: number;
  items: number;
  oldest_age_seconds: number;
  last_tx: string | null;
  last_position: string | null;
  window_ended: boolean;
}

// Settled events are few (parked ones, those settled behind one still waiting, at most a
// window's worth, and those the old outbox published before the upgrade), but a run of
// them longer than a walk must not hide what waits behind it.
const MAX_LAG_WALKS = 10;

/**
 * Counts (up to a limit) the events of a partition past its checkpoint that wait to be
 * published: private ones too (routing is code, not data), but not those settled
 * before, which the publisher skips. A message parked behind one still waiting is past
 * the checkpoint, and counted as parked. A walk that ended at its bound is capped
 * there; with nothing counted, its age is that of the first event past the checkpoint.
 */
const eventLag: FeedSource<EventMessage>['lag'] = async (db, { after, partition, limit }) => {
  let position = after;
  let items = 0;
  let oldestAgeSeconds = 0;
  const capped = async (): Promise<SourceLag> => ({
    items: Math.min(items, limit),
    capped: true,
    oldestAgeSeconds: items === 0 ? await feedReadingAge(db, after) : oldestAgeSeconds,
  });
  for (let walk = 0; walk < MAX_LAG_WALKS; walk++) {
    const params = [position.txId.toString(), position.position.toString(), limit + 1, partition.count, partition.index, Math.max(limit + 1, LAG_SCAN_BOUND)];
    const { rows } = await db.query<LagWalk>(LAG_WALK_SQL, params);
    const row = rows[0];
    items += row?.items ?? 0;
    oldestAgeSeconds = Math.max(oldestAgeSeconds, row?.oldest_age_seconds ?? 0);
    if (items > limit) return { items: limit, capped: true, oldestAgeSeconds };
    if (row?.window_ended) return capped();
    const walkedAll = (row?.walked ?? 0) <= limit;
    if (walkedAll || !row?.last_tx || !row.last_position) return { items, capped: false, oldestAgeSeconds };
    position = { txId: BigInt(row.last_tx), position: BigInt(row.last_position) };
  }
  // Walks of settled events all the way: more may wait past them, uncounted.
  return capped();
};

/** A page's messages, up to `limit` unsettled ones (upToUnsettled). Caught up when the walk reached the head. */
function pageOfMessages(after: Checkpoint, limit: number, rows: ReadonlyArray<MessageTuple | ClosingTuple>): SourcePage<EventMessage> {
  const messages: EventMessage[] = [];
  let walkedTo: Checkpoint | undefined;
  let windowEnded = false;
  for (const row of rows) {
    if (!isClosing(row)) messages.push(toMessage(row));
    else {
      walkedTo = { txId: BigInt(row[0]), position: BigInt(row[1]) };
      windowEnded = row[5] === 'scan_bound';
    }
  }
  const { items, cut } = upToUnsettled(messages, limit);
  const last = items[items.length - 1];
  const checkpoint = checkpointAfterPage(after, last && { txId: last.txId, position: last.position }, cut ? undefined : walkedTo);
  // No row at all: nothing below the horizon yet. A full page has no closing row.
  const caughtUp = !cut && (rows.length === 0 || (walkedTo !== undefined && !windowEnded));
  return { items, checkpoint, caughtUp };
}

/**
 * The events feed as the publisher reads it, split by stream. While rows the
 * outbox published before the upgrade remain, or events are parked, those
 * events are marked and skipped; whether any remain is asked with each page.
 */
export function eventMessages(): FeedSource<EventMessage> {
  return {
    async read(db, { after, limit, partition }) {
      const { rows } = await db.query<MessageTuple | ClosingTuple>(
        PAGE_SQL,
        [
          after.txId.toString(),
          after.position.toString(),
          limit,
          // One partition holds every stream: no hash to compute per event.
          ...(partition.count === 1 ? [null, null] : [partition.count, partition.index]),
          pageWindow(limit, partition.count),
          partition.index,
        ],
        { name: 'publisher_event_page', rowMode: 'array' },
      );
      return pageOfMessages(after, limit, rows);
    },
    positionOf: (message) => ({ txId: message.txId, position: message.position }),
    idOf: (message) => message.eventId,
    lag: eventLag,
  };
}
