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

export interface EventRow {
  global_position: string;
  tx_id: string;
  stream_id: string;
  stream_type: string;
  version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: object;
  metadata: EventMetadata;
  recorded_at_ms: number;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    streamType: row.stream_type,
    version: row.version,
    globalPosition: BigInt(row.global_position),
    txId: BigInt(row.tx_id),
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: new Date(row.recorded_at_ms),
  };
}
