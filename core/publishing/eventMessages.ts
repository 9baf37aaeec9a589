import type { Queryable } from '../db';
import { checkpointAfterPage, type Checkpoint } from '../eventstore';
import { NO_UPCASTING } from '../eventstore';
import { eventFeedSource, type FeedSource } from '../processing';

/** A stored event as the publisher sends it: its body and headers built by the database, as consumers have always received them. */
export interface EventMessage {
  txId: bigint;
  position: bigint;
  eventId: string;
  streamId: string;
  streamType: string;
  type: string;
  payload: string;
  headers: Record<string, string>;
  /**
   * Published through the outbox before publishing moved to the feed (migration
   * 0014), or parked: skipped. A parked event goes out again only when requeued.
   */
  settledBefore: boolean;
}

interface MessageRow {
  tx_id: string;
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_type: string;
  type: string;
  schema_version: number;
  version: number;
  payload: string;
  correlation_id: string | null;
  causation_id: string | null;
  command_id: string | null;
  traceparent: string | null;
  tracestate: string | null;
  settled_before: boolean;
}

/** A short page's last row: the visible head's position, nothing else. */
interface HeadRow {
  tx_id: string;
  global_position: string;
  event_id: null;
}

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

const MESSAGE_COLUMNS = `e.tx_id, e.global_position, e.event_id, e.stream_id, e.stream_type, e.type, e.schema_version, e.version,
  ${ENVELOPE} AS payload,
  e.metadata ->> 'correlationId' AS correlation_id, e.metadata ->> 'causationId' AS causation_id,
  e.metadata ->> 'commandId' AS command_id, e.metadata ->> 'traceparent' AS traceparent,
  e.metadata ->> 'tracestate' AS tracestate`;

// Only transactions below the snapshot's xmin are read (see readFeed.ts), through
// read_feed_page_with_head's pinned walk of the feed index, in its order; a short
// page ends with the visible head's position (a row without an event id), which
// moves the checkpoint past what other partitions hold. Whether anything is settled
// already is asked once per page, in the page's own snapshot (an initplan): a
// message parked by another instance since this run began is skipped too.
const PAGE_SQL = `
  SELECT ${MESSAGE_COLUMNS},
    CASE WHEN (SELECT EXISTS (SELECT FROM parked_messages WHERE source = 'events') OR EXISTS (SELECT FROM outbox WHERE event_id IS NOT NULL AND published_at IS NOT NULL))
      THEN EXISTS (SELECT FROM outbox o WHERE o.event_id = e.event_id AND o.published_at IS NOT NULL)
        OR EXISTS (SELECT FROM parked_messages pm WHERE pm.message_id = e.event_id)
      ELSE false END AS settled_before
  FROM read_feed_page_with_head($1::xid8, $2::bigint, pg_snapshot_xmin(pg_current_snapshot()), $3::integer,
                                NULL, NULL, $4::integer, $5::integer) WITH ORDINALITY AS e
  ORDER BY e.ordinality`;

const BY_ID_SQL = `SELECT ${MESSAGE_COLUMNS}, false AS settled_before
  FROM events e WHERE e.event_id = ANY ($1::uuid[])
  ORDER BY e.tx_id, e.global_position`;

function headersOf(row: MessageRow): Record<string, string> {
  const headers: Record<string, string> = {
    'Event-Id': row.event_id,
    'Event-Type': row.type,
    'Event-Schema-Version': String(row.schema_version),
    'Stream-Id': row.stream_id,
    'Stream-Type': row.stream_type,
    'Stream-Version': String(row.version),
  };
  const optional = { 'Correlation-Id': row.correlation_id, 'Causation-Id': row.causation_id, 'Command-Id': row.command_id, traceparent: row.traceparent, tracestate: row.tracestate };
  for (const [name, value] of Object.entries(optional)) if (value !== null) headers[name] = value;
  return headers;
}

function toMessage(row: MessageRow): EventMessage {
  return {
    txId: BigInt(row.tx_id),
    position: BigInt(row.global_position),
    eventId: row.event_id,
    streamId: row.stream_id,
    streamType: row.stream_type,
    type: row.type,
    payload: row.payload,
    headers: headersOf(row),
    settledBefore: row.settled_before,
  };
}

/** The messages of these events, in feed order, for sending requeued ones again. */
export async function eventMessagesById(db: Queryable, eventIds: readonly string[]): Promise<EventMessage[]> {
  if (eventIds.length === 0) return [];
  const { rows } = await db.query<MessageRow>(BY_ID_SQL, [eventIds]);
  return rows.map(toMessage);
}

// Lag is the feed's: events of the partition past the checkpoint, whatever their type.
const plainFeed = eventFeedSource({ upcaster: NO_UPCASTING });

/**
 * The events feed as the publisher reads it, split by stream. While rows the
 * outbox published before the upgrade remain, or events are parked, those
 * events are marked and skipped; whether any remain is asked with each page.
 */
export function eventMessages(): FeedSource<EventMessage> {
  return {
    async read(db, { after, limit, partition }) {
      const { rows } = await db.query<MessageRow | HeadRow>(
        PAGE_SQL,
        // One partition holds every stream: no hash to compute per event.
        [after.txId.toString(), after.position.toString(), limit, ...(partition.count === 1 ? [null, null] : [partition.count, partition.index])],
        { name: 'publisher_event_page' },
      );
      const items: EventMessage[] = [];
      let visibleHead: Checkpoint | undefined;
      for (const row of rows) {
        if (row.event_id === null) visibleHead = { txId: BigInt(row.tx_id), position: BigInt(row.global_position) };
        else items.push(toMessage(row));
      }
      const last = items[items.length - 1];
      const checkpoint = checkpointAfterPage(after, last && { txId: last.txId, position: last.position }, visibleHead);
      return { items, checkpoint, caughtUp: items.length < limit };
    },
    positionOf: (message) => ({ txId: message.txId, position: message.position }),
    idOf: (message) => message.eventId,
    lag: (db, request) => plainFeed.lag(db, request),
  };
}
