import type { Queryable } from '../db';
import { findUnstorableText } from '../text';
import { EventValidationError, StreamNotFoundError, type ValidationIssue } from './errors';
import { EVENT_COLUMNS, holdsEvent, toRecordedEvent, type EventTuple, type NoEventTuple } from './eventRow';
import type { EventShape, ReadStreamOptions, StreamSlice } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';

/** The slice's event (none when the stream has no event in the range), then the stream's newest version and its type. */
type SliceRow = [...EventTuple, currentVersion: number, currentType: string] | [...NoEventTuple, currentVersion: number, currentType: string];

// One round trip: the stream's newest event (which proves the stream exists) joined to the slice.
const READ_STREAM_SQL = `
  SELECT ${EVENT_COLUMNS}, h.version AS current_version, h.stream_type AS current_type
  FROM (SELECT version, stream_type FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1) AS h
  LEFT JOIN events e ON e.stream_id = $1 AND e.version BETWEEN $2 AND $3
  ORDER BY e.version`;

/** The largest version a stream can reach: versions are PostgreSQL integers. */
export const MAX_STREAM_VERSION = 2_147_483_647;

/** A version bound past the largest storable version reads as "to the end". */
function versionBound(value: number | undefined, path: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    const issue: ValidationIssue = { path, message: 'must be an integer of at least 1' };
    throw new EventValidationError([issue]);
  }
  return Math.min(value, MAX_STREAM_VERSION);
}

/** Reads versions `fromVersion..toVersion` of a stream; throws `StreamNotFoundError` if it does not exist. */
export async function readStream<E extends EventShape = EventShape>(
  db: Queryable,
  streamId: string,
  options: ReadStreamOptions = {},
  upcaster: EventUpcaster = NO_UPCASTING,
): Promise<StreamSlice<E>> {
  // No stream has such an id; PostgreSQL would fail on the text rather than find none.
  const unstorable = findUnstorableText(streamId, 'streamId');
  if (unstorable.length > 0) throw new EventValidationError(unstorable);
  if (typeof options !== 'object' || (options as unknown) === null) throw new EventValidationError([{ path: 'options', message: 'must be an object' }]);
  const from = versionBound(options.fromVersion, 'fromVersion', 1);
  const to = versionBound(options.toVersion, 'toVersion', MAX_STREAM_VERSION);
  const { rows } = await db.query<SliceRow>(READ_STREAM_SQL, [streamId, from, to], { rowMode: 'array' });
  const first = rows[0];
  if (!first) throw new StreamNotFoundError(streamId);
  const events = rows.flatMap((row) => (holdsEvent(row) ? [upcaster.upcast(toRecordedEvent(row))] : []));
  return {
    streamId,
    streamType: first[12],
    streamVersion: first[11],
    events: events as StreamSlice<E>['events'],
  };
}
