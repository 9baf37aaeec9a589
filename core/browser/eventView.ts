import type { EventUpcaster, RecordedEvent } from '../eventstore';

/** An event as the browser shows it: upcasted to its current shape, and as stored when asked. */
export interface EventView {
  eventId: string;
  streamId: string;
  streamType: string;
  version: number;
  globalPosition: string;
  /** The feed position of its transaction; with globalPosition, the event's place in the feed. */
  txId: string;
  type: string;
  schemaVersion: number;
  data: object;
  metadata: object;
  recordedAt: string;
  /** As stored, before upcasting: only with `original=true`. */
  original?: { type: string; schemaVersion: number; data: object };
}

export function eventView(stored: RecordedEvent, upcaster: EventUpcaster, withOriginal: boolean): EventView {
  const event = upcaster.upcast(stored);
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    streamType: event.streamType,
    version: event.version,
    globalPosition: event.globalPosition.toString(),
    txId: event.txId.toString(),
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
    ...(withOriginal ? { original: { type: stored.type, schemaVersion: stored.schemaVersion, data: stored.data } } : {}),
  };
}
