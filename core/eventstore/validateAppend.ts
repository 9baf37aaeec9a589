import { findUnstorableText } from '../text';
import { isName, MAX_NAME_LENGTH } from './appendShape';
import { EventValidationError, type ValidationIssue } from './errors';
import { EventStoreOptionsError } from './EventStoreOptionsError';
import { newEventId } from './eventIds';
import { definedFields } from './definedFields';
import { checkEventHeaderBlock } from './eventHeaderBlock';
import { checkHeaderMetadata, checkHeaderText } from './headerText';
import { serializeMessages } from './integrationMessages';
import { toJsonObject } from './jsonText';
import { MAX_STREAM_VERSION } from './readStream';
import type { AppendRequest, EventShape, IdempotencyRecord } from './types';
import { isEventUpcaster, NO_UPCASTING, type EventUpcaster } from './upcasterPort';

export { MAX_NAME_LENGTH } from './appendShape';
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;
/**
 * One append's events together, as the JSON text they are sent as: data,
 * metadata, type and id. A batch goes to the database as one jsonb array, which
 * PostgreSQL caps at 256 MiB; jsonb can take several times the text (small
 * numbers), and the database's refusal of the rest is turned into an
 * EventValidationError (appendErrors.ts).
 */
export const MAX_APPEND_BYTES = 64 * 1024 * 1024;

/**
 * Refuses a size limit that is not a whole number of bytes from 1 to
 * MAX_APPEND_BYTES: NaN and Infinity compare false with every size, and taken,
 * would switch the limit off.
 */
export function checkMaxEventBytes(maxEventBytes: number): void {
  const problem = maxEventBytesError(maxEventBytes);
  if (problem) throw problem;
}

function maxEventBytesError(maxEventBytes: number): EventStoreOptionsError | undefined {
  if (Number.isSafeInteger(maxEventBytes) && maxEventBytes >= 1 && maxEventBytes <= MAX_APPEND_BYTES) return undefined;
  return new EventStoreOptionsError(`maxEventBytes must be a whole number of bytes from 1 to ${MAX_APPEND_BYTES}, not ${maxEventBytes}`);
}

/** Options that are no object, or an upcaster without what the store calls on it, would fail every append. */
export function storeOptionsError(options: { maxEventBytes?: number; upcaster?: EventUpcaster }): EventStoreOptionsError | undefined {
  if (typeof options !== 'object' || (options as unknown) === null) return new EventStoreOptionsError('options must be an object: { maxEventBytes, upcaster }');
  if (options.upcaster !== undefined && !isEventUpcaster(options.upcaster)) {
    return new EventStoreOptionsError('upcaster must be an event upcaster (defineUpcasters, say), with upcast, writeVersion, storedTypesOf and currentTypeOf');
  }
  return options.maxEventBytes === undefined ? undefined : maxEventBytesError(options.maxEventBytes);
}

// At most what a batch's text holds around an event's data, metadata and type:
// the id, the keys, quotes and commas (appendToStream.ts builds it).
const EVENT_FRAME_BYTES = 110;

/** New events are written at their type's current version; an explicit other version is refused. */
function schemaVersionFor(
  event: { type: string; schemaVersion?: number },
  index: number,
  upcaster: EventUpcaster,
  issues: ValidationIssue[],
): number {
  const current = upcaster.writeVersion(event.type);
  if (typeof current !== 'number') {
    issues.push({ path: `events.${index}.type`, message: `${event.type} was renamed to ${current.renamedTo}` });
    return 1;
  }
  if (upcaster !== NO_UPCASTING && event.schemaVersion !== undefined && event.schemaVersion !== current) {
    issues.push({
      path: `events.${index}.schemaVersion`,
      message: `new ${event.type} events are written at schema version ${current}, not ${event.schemaVersion}`,
    });
  }
  return upcaster === NO_UPCASTING ? (event.schemaVersion ?? 1) : current;
}

/** The command record's text, which PostgreSQL must be able to store (its shape was checked with the append's). */
function unstorableRecordText(record: IdempotencyRecord): ValidationIssue[] {
  const { commandId, commandType, payloadHash, correlationId } = record;
  return findUnstorableText({ commandId, commandType, payloadHash, ...(correlationId === undefined ? {} : { correlationId }) }, 'idempotency');
}

// A version past the largest PostgreSQL's integer holds would fail the statement untyped.
function checkRoomForEvents(request: AppendRequest, issues: ValidationIssue[]): void {
  const { expectedVersion, events } = request;
  if (typeof expectedVersion !== 'number' || expectedVersion <= MAX_STREAM_VERSION - events.length) return;
  issues.push({
    path: 'expectedVersion',
    message: `leaves room for ${MAX_STREAM_VERSION - expectedVersion} more events, not ${events.length}: a stream's versions end at ${MAX_STREAM_VERSION}`,
  });
}

/**
 * The ids one append's events and messages may carry of the caller's own. Each
 * is claimed (migration 0033): locked until the append's transaction ends, in
 * the lock table all of the server's sessions share, which holds about
 * `max_locks_per_transaction` (64 by default) times `max_connections` locks.
 * Many more in one append would fail it with PostgreSQL's untyped "out of
 * shared memory", and other sessions' locks with it. The ids the store makes
 * are new and take no lock.
 */
export const MAX_CHOSEN_IDS = 1_000;

const hasChosenId = (item: unknown, key: 'eventId' | 'messageId') =>
  typeof item === 'object' && item !== null && (item as Readonly<Record<string, unknown>>)[key] !== undefined;

function checkChosenIds(request: AppendRequest, issues: ValidationIssue[]): void {
  const messageIds = (request.messages ?? []).filter((message) => hasChosenId(message, 'messageId')).length;
  const chosen = request.events.filter((event) => hasChosenId(event, 'eventId')).length + messageIds;
  if (chosen <= MAX_CHOSEN_IDS) return;
  issues.push({
    path: messageIds > 0 ? 'messages' : 'events',
    message: `${chosen} events and messages carry ids of their own, over the limit of ${MAX_CHOSEN_IDS} for one append: each is locked until the append commits`,
  });
}

// The header checks read the metadata as given: one that writes itself with its own
// toJSON would be stored as something they never saw.
function checkPlainMetadata(metadata: Readonly<Record<string, unknown>>, path: string, issues: ValidationIssue[]): void {
  if (typeof metadata.toJSON === 'function') issues.push({ path: `${path}.toJSON`, message: 'metadata is stored as given: it may not write itself with a toJSON method' });
}

// The event browser indexes each event's correlation id (story_keys, migration 0037), and
// an index entry holds at most about 2.7 KB: a longer one would fail the story index's
// batch, which would then be retried, and stories walk the events past it, for ever.
function checkCorrelationId(metadata: Readonly<Record<string, unknown>>, path: string, issues: ValidationIssue[]): void {
  const { correlationId } = metadata;
  // Null too: the index takes none. Other types are refused as header metadata (checkHeaderMetadata).
  if (correlationId === null || (typeof correlationId === 'string' && !isName(correlationId))) {
    issues.push({ path, message: `must be a string of 1 to ${MAX_NAME_LENGTH} characters` });
  }
}

/** One event as the database takes it: data and metadata as JSON text. */
export interface SerializedEvent {
  eventId: string;
  /** The caller chose the id: it is claimed (migration 0033). */
  chosenId: boolean;
  type: string;
  schemaVersion: number;
  data: string;
  metadata: string;
}

/** An append as the database takes it. */
export interface SerializedAppend {
  events: SerializedEvent[];
  /** The integration messages as one JSON array, or null when there are none. */
  messages: string | null;
}

/**
 * Checks an append request whose shape is checked (appendShapeError) and
 * serializes its events, or throws an `EventValidationError` listing every
 * problem; nothing reaches the database unless the whole request is valid.
 */
export function validateAppend<E extends EventShape>(
  request: AppendRequest<E>,
  upcaster: EventUpcaster,
  maxEventBytes: number = DEFAULT_MAX_EVENT_BYTES,
): SerializedAppend {
  checkMaxEventBytes(maxEventBytes);
  const issues: ValidationIssue[] = findUnstorableText({ streamId: request.streamId, streamType: request.streamType });
  checkHeaderText(request.streamId, 'streamId', issues);
  checkHeaderText(request.streamType, 'streamType', issues);
  if (request.idempotency !== undefined) issues.push(...unstorableRecordText(request.idempotency));
  checkRoomForEvents(request, issues);
  checkChosenIds(request, issues);
  const events: SerializedEvent[] = [];
  // The ids the caller chose (the store's are new), first place of each: a UUID's case is not part of it.
  const firstWithId = new Map<string, number>();
  let appendBytes = 0;
  request.events.forEach((event, index) => {
    issues.push(...findUnstorableText(event.type, `events.${index}.type`));
    const eventId = event.eventId ?? newEventId();
    if (event.eventId !== undefined) {
      const id = event.eventId.toLowerCase();
      const first = firstWithId.get(id);
      // Refused here, not by the unique index: that would say the id is stored already, and abort a caller's transaction.
      if (first !== undefined) issues.push({ path: `events.${index}.eventId`, message: `is the same as events.${first}'s: one append cannot store an event id twice` });
      else firstWithId.set(id, index);
    }
    const schemaVersion = schemaVersionFor(event, index, upcaster, issues);
    const data = toJsonObject(event.data, `events.${index}.data`, issues);
    const merged = { ...request.metadata, ...definedFields(event.metadata) };
    checkHeaderText(event.type, `events.${index}.type`, issues);
    checkPlainMetadata(merged, `events.${index}.metadata`, issues);
    checkHeaderMetadata(merged, `events.${index}.metadata`, issues);
    checkCorrelationId(merged, `events.${index}.metadata.correlationId`, issues);
    const metadata = toJsonObject(merged, `events.${index}.metadata`, issues);
    if (data === undefined || metadata === undefined) return;
    checkEventHeaderBlock({ streamId: request.streamId, streamType: request.streamType, type: event.type }, merged, `events.${index}.metadata`, issues);
    const bytes = Buffer.byteLength(data) + Buffer.byteLength(metadata);
    appendBytes += bytes + Buffer.byteLength(event.type) + EVENT_FRAME_BYTES;
    if (bytes > maxEventBytes) {
      issues.push({ path: `events.${index}`, message: `payload is ${bytes} bytes, over the limit of ${maxEventBytes}` });
    }
    events.push({ eventId, chosenId: event.eventId !== undefined, type: event.type, schemaVersion, data, metadata });
  });
  if (appendBytes > MAX_APPEND_BYTES) {
    issues.push({ path: 'events', message: `the events are ${appendBytes} bytes together, over the limit of ${MAX_APPEND_BYTES} for one append` });
  }
  const messages = request.messages?.length
    ? serializeMessages(request.messages, maxEventBytes, issues, new Map(events.map((event, index) => [event.eventId.toLowerCase(), index])))
    : null;
  // The messages go in the same statement: they count towards what one append may send.
  const messageBytes = messages === null ? 0 : Buffer.byteLength(messages);
  if (messageBytes > 0 && appendBytes <= MAX_APPEND_BYTES && appendBytes + messageBytes > MAX_APPEND_BYTES) {
    issues.push({ path: 'messages', message: `the events and messages are ${appendBytes + messageBytes} bytes together, over the limit of ${MAX_APPEND_BYTES} for one append` });
  }
  if (issues.length > 0) throw new EventValidationError(issues);
  return { events, messages };
}
