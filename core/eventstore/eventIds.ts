import { newTimeOrderedId } from '../ids/timeOrderedId';
import { EventValidationError } from './errors';

/** The latest time a UUID version 7 holds: its first 48 bits are the milliseconds since 1970. */
const LATEST_ID_TIME_MS = 2 ** 48 - 1;

/**
 * A new event id: time-ordered (core/ids), so the unique event-id index grows at its right edge.
 * A time that is no number of milliseconds an id can hold (NaN, a text, before 1970) would
 * make an id sorting before every other, and is refused.
 */
export function newEventId(now: number = Date.now()): string {
  if (typeof now !== 'number' || !(now >= 0 && now <= LATEST_ID_TIME_MS)) {
    throw new EventValidationError([{ path: 'now', message: `must be milliseconds since 1970, at most ${LATEST_ID_TIME_MS}` }]);
  }
  return newTimeOrderedId(Math.floor(now));
}
