import { asDatabaseError, type Queryable } from '../db';
import {
  AppendNotFirstWriteError,
  CommandAlreadyRecordedError,
  ConcurrencyError,
  DuplicateEventError,
  EventValidationError,
  StreamNotFoundError,
  StreamTypeMismatchError,
} from './errors';
import { MAX_STREAM_VERSION } from './readStream';
import type { AppendRequest } from './types';

/**
 * `Key (stream_id, version)=(account-1, 7) already exists.`: the version another
 * writer took, read from the end, since a stream id may hold the same words.
 */
function conflictingVersion(detail: string | undefined): number | undefined {
  const match = /, (\d+)\) already exists\.?$/.exec(detail ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * `Key (message_id)=(0192f0c4-...) already exists.`: the message whose id another append
 * stored first, named by its place as the other refusals of an id are; the messages as a
 * whole when the id cannot be read back (PostgreSQL gives no detail to a role that cannot read the table).
 */
function messageIdTaken(request: AppendRequest, detail: string | undefined): EventValidationError {
  const id = /\(message_id\)=\(([^)]*)\)/.exec(detail ?? '')?.[1];
  const index = id === undefined ? -1 : placeOfId(request, 'messages', id);
  if (index < 0) return new EventValidationError([{ path: 'messages', message: 'a message id is already stored' }]);
  return idTakenAt('messages', index, 'a stored integration message');
}

// program_limit_exceeded, statement_too_complex.
const PROGRAM_LIMITS = new Set(['54000', '54001']);
// The one integer an append computes is a version (a schema version past an integer is refused by defineUpcasters).
const NUMERIC_VALUE_OUT_OF_RANGE = '22003';

/**
 * A message id that is a stored event's id, or an event id that is a stored
 * message's: both go to JetStream as its message id, which keeps only one.
 */
function sharedIdTaken(request: AppendRequest, kind: 'messages' | 'events', id: string): EventValidationError {
  return idTakenAt(kind, placeOfId(request, kind, id), kind === 'messages' ? 'a stored event' : 'a stored integration message');
}

/** Where the append gives an id (lower case), among its messages' or its events'. */
function placeOfId(request: AppendRequest, kind: 'messages' | 'events', id: string): number {
  const given = kind === 'messages' ? (request.messages ?? []).map((message) => message.messageId) : request.events.map((event) => event.eventId);
  return given.findIndex((candidate) => candidate?.toLowerCase() === id);
}

/** The refusal of the id at `index` of the append's messages or events, which `storedAs` holds already. */
function idTakenAt(kind: 'messages' | 'events', index: number, storedAs: string): EventValidationError {
  const field = kind === 'messages' ? 'messageId' : 'eventId';
  return new EventValidationError([{ path: `${kind}.${String(index)}.${field}`, message: `is the id of ${storedAs}: JetStream would keep only one of the two` }]);
}

/**
 * Turns what the append statement raised into a typed error; other errors pass
 * through. A version taken by a racing writer is a conflict: its key is in the
 * error, and inside a caller's (now aborted) transaction it is all there is to
 * say how far the stream got, so `actualVersion` is at least that version.
 */
export function toAppendError(error: unknown, request: AppendRequest): unknown {
  const dbError = asDatabaseError(error);
  if (!dbError) return error;
  if (dbError.code === 'ES209' || dbError.code === 'ES210') return sharedIdTaken(request, dbError.code === 'ES209' ? 'messages' : 'events', dbError.detail ?? '');
  if (dbError.code === 'ES208') return new CommandAlreadyRecordedError(dbError.detail ?? request.idempotency?.commandId ?? '');
  // A limit of PostgreSQL's own (class 54) met by what the append holds, such as
  // a batch whose jsonb form is over 256 MiB (numbers take several times their
  // text) though its text is within MAX_APPEND_BYTES. The request is what is wrong.
  if (PROGRAM_LIMITS.has(dbError.code)) {
    const limit = error instanceof Error ? error.message : dbError.code;
    return new EventValidationError([{ path: 'events', message: `PostgreSQL cannot store this append: ${limit}` }]);
  }
  // A stream at its last version appended with 'any' or 'stream_exists': only the statement knows its version.
  if (dbError.code === NUMERIC_VALUE_OUT_OF_RANGE && (request.expectedVersion === 'any' || request.expectedVersion === 'stream_exists')) {
    return new EventValidationError([{ path: 'expectedVersion', message: `leaves no room for the events: a stream's versions end at ${MAX_STREAM_VERSION}` }]);
  }
  if (dbError.code !== '23505') return error;
  switch (dbError.constraint) {
    case 'events_stream_id_version_key':
      return new ConcurrencyError(request.streamId, request.expectedVersion, conflictingVersion(dbError.detail) ?? 0);
    case 'events_event_id_key':
      return new DuplicateEventError(request.streamId);
    case 'commands_pkey':
      return new CommandAlreadyRecordedError(request.idempotency?.commandId ?? '');
    case 'outbox_message_id_key':
      return messageIdTaken(request, dbError.detail);
    default:
      return error;
  }
}

interface HeadRow {
  version: number | null;
  stream_type: string | null;
  wrote_before: boolean;
}

const HEAD_SQL = `
  SELECT h.version, h.stream_type, pg_current_xact_id_if_assigned() IS NOT NULL AS wrote_before
  FROM (SELECT) AS one
  LEFT JOIN LATERAL (SELECT e.version, e.stream_type FROM events e WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1) AS h ON true`;

/**
 * Why an append statement wrote nothing: it found the stream other than
 * expected, or it was not its transaction's first write. A second round trip,
 * made only when an append is refused.
 */
export async function diagnoseRefusedAppend(db: Queryable, request: AppendRequest): Promise<Error> {
  const { rows } = await db.query<HeadRow>(HEAD_SQL, [request.streamId]);
  const head = rows[0];
  if (head?.wrote_before) return new AppendNotFirstWriteError(request.streamId);
  const version = head?.version ?? 0;
  const storedType = head?.stream_type ?? null;
  const { expectedVersion } = request;
  const expected = expectedVersion === 'no_stream' ? 0 : expectedVersion;
  if (expected === 'stream_exists' && storedType === null) return new StreamNotFoundError(request.streamId);
  const versionHolds = typeof expected !== 'number' || expected === version;
  if (versionHolds && storedType !== null && storedType !== request.streamType) {
    return new StreamTypeMismatchError(request.streamId, storedType, request.streamType);
  }
  // The stream moved between the append and this look: a conflict, like any other.
  return new ConcurrencyError(request.streamId, request.expectedVersion, version);
}
