import { newTimeOrderedId } from '../ids/timeOrderedId';

/** A new event id: time-ordered (core/ids), so the unique event-id index grows at its right edge. */
export function newEventId(now: number = Date.now()): string {
  return newTimeOrderedId(now);
}
