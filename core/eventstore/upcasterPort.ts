import type { EventMetadata } from './types';

/** What upcasting reads and rewrites of an event; any richer event passes through with its other fields. */
export interface UpcastableEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: object;
  metadata: EventMetadata;
}

/**
 * How the store brings stored events to their current shape on every read,
 * and which schema version new events are written at. `core/upcasting`
 * implements it; the store only depends on this port.
 */
export interface EventUpcaster {
  /** The event as current code expects it; throws if its stored version has no path to the current one. */
  upcast<E extends UpcastableEvent>(event: E): E;
  /** The version new events of `type` are written at, or the type it was renamed to if it may no longer be written. */
  writeVersion(type: string): number | { renamedTo: string };
  /** `type` plus every stored type name that upcasts into it, for filtering the feed by type. */
  storedTypesOf(type: string): readonly string[];
}

/** The store without upcasters: events read as stored, new events written at version 1 unless given. */
export const NO_UPCASTING: EventUpcaster = {
  upcast: (event) => event,
  writeVersion: () => 1,
  storedTypesOf: (type) => [type],
};
