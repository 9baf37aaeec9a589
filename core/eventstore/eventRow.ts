import type { EventMetadata, RecordedEvent } from './types';

/**
 * The columns every event read selects, in the form the drivers return them.
 * The record time comes as whole epoch milliseconds: drivers parse a
 * timestamptz's text with a regular expression, which was a tenth of a feed
 * read's client time. date_part is a float; the half microsecond added before
 * flooring absorbs its rounding, so the result is the time truncated to the ms.
 */
export const EVENT_COLUMNS =
  'e.global_position, e.tx_id, e.stream_id, e.stream_type, e.version, e.event_id, e.type, e.schema_version, e.data, e.metadata, ' +
  "floor(date_part('epoch', e.recorded_at) * 1000 + 0.0005) AS recorded_at_ms";

/**
 * An event as read with `rowMode: 'array'`: EVENT_COLUMNS' values, in order.
 * Events are read in pages of hundreds, and a row object built key by key
 * cost a reader more than all the rest of turning rows into events.
 */
export type EventTuple = [
  globalPosition: string,
  txId: string,
  streamId: string,
  streamType: string,
  version: number,
  eventId: string,
  type: string,
  schemaVersion: number,
  data: object,
  metadata: EventMetadata,
  recordedAtMs: number,
];

/** Nulls in place of each of a tuple's values: an outer join's miss. */
export type NullsOf<Tuple extends readonly unknown[]> = { [K in keyof Tuple]: null };

/** EVENT_COLUMNS' values where there is no event; a reader's own columns come after them. */
export type NoEventTuple = NullsOf<EventTuple>;

/**
 * Whether a row's leading EVENT_COLUMNS hold an event, rather than the nulls of
 * an outer join's miss or a page's closing head row (its event id is null).
 */
export const holdsEvent = <Row extends readonly unknown[]>(row: Row): row is Extract<Row, readonly [...EventTuple, ...unknown[]]> => row[5] !== null;

/** The event in a row that starts with EVENT_COLUMNS' values. */
export function toRecordedEvent(row: readonly [...EventTuple, ...unknown[]]): RecordedEvent {
  return {
    eventId: row[5],
    streamId: row[2],
    streamType: row[3],
    version: row[4],
    globalPosition: BigInt(row[0]),
    txId: BigInt(row[1]),
    type: row[6],
    schemaVersion: row[7],
    data: row[8],
    metadata: row[9],
    recordedAt: new Date(row[10]),
  };
}
