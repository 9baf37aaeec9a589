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
  /** The event as current code expects it; throws an error with code NO_UPCAST_PATH if its stored version has no path to the current one. */
  upcast<E extends UpcastableEvent>(event: E): E;
  /** The version new events of `type` are written at, or the type it was renamed to if it may no longer be written. */
  writeVersion(type: string): number | { renamedTo: string };
  /** `type` plus every stored type name that upcasts into it, for filtering the feed by type. */
  storedTypesOf(type: string): readonly string[];
  /**
   * The type an event stored as `type` at `schemaVersion` reads as, found without
   * running a step; undefined when that version has no path to a current one
   * (reading it throws). A feed filtered by type counts what it has still to read with it.
   */
  currentTypeOf(type: string, schemaVersion: number): string | undefined;
}

const UPCASTER_FUNCTIONS = ['upcast', 'writeVersion', 'storedTypesOf', 'currentTypeOf'] as const;

/** Whether a value given as an upcaster (from plain JavaScript, say) has what the store calls on it. */
export const isEventUpcaster = (value: unknown): value is EventUpcaster =>
  typeof value === 'object' && value !== null && UPCASTER_FUNCTIONS.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');

/** The store without upcasters: events read as stored, new events written at version 1 unless given. */
export const NO_UPCASTING: EventUpcaster = {
  upcast: (event) => event,
  writeVersion: () => 1,
  storedTypesOf: (type) => [type],
  currentTypeOf: (type) => type,
};

/**
 * The code of what `upcast` throws for a stored version with no path to the
 * current one: most often an event newer code stored during a rolling deploy,
 * which this code will read once it is replaced. Any other error from `upcast`
 * is a step's own bug.
 */
export const NO_UPCAST_PATH = 'NO_UPCAST_PATH';

/** Whether `upcast` threw for want of a path, not for a bug in a step. */
export const hasNoUpcastPath = (error: unknown): boolean => error instanceof Error && (error as Error & { code?: unknown }).code === NO_UPCAST_PATH;
