import { findUnstorableText } from '../text/storableText';
import { EventValidationError, type ValidationIssue } from './errors';
import { newEventId } from './eventIds';
import { checkHeaderMetadata, checkHeaderText } from './headerText';
import { serializeMessages } from './integrationMessages';
import { toJsonObject } from './jsonText';
import { checkAppendShape } from './appendShape';
import type { AppendRequest, EventShape, IdempotencyRecord } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';

export { MAX_NAME_LENGTH } from './appendShape';
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

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

/** One event as the database takes it: data and metadata as JSON text. */
export interface SerializedEvent {
  eventId: string;
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
 * Checks an append request and serializes its events, or throws an
 * `EventValidationError` listing every problem; nothing reaches the database
 * unless the whole request is valid.
 */
export function validateAppend<E extends EventShape>(
  request: AppendRequest<E>,
  upcaster: EventUpcaster,
  maxEventBytes: number = DEFAULT_MAX_EVENT_BYTES,
): SerializedAppend {
  checkAppendShape(request);
  const issues: ValidationIssue[] = findUnstorableText({ streamId: request.streamId, streamType: request.streamType });
  checkHeaderText(request.streamId, 'streamId', issues);
  checkHeaderText(request.streamType, 'streamType', issues);
  if (request.idempotency !== undefined) issues.push(...unstorableRecordText(request.idempotency));
  const events: SerializedEvent[] = [];
  request.events.forEach((event, index) => {
    issues.push(...findUnstorableText(event.type, `events.${index}.type`));
    const eventId = event.eventId ?? newEventId();
    const schemaVersion = schemaVersionFor(event, index, upcaster, issues);
    const data = toJsonObject(event.data, `events.${index}.data`, issues);
    const merged = { ...request.metadata, ...event.metadata };
    checkHeaderText(event.type, `events.${index}.type`, issues);
    checkHeaderMetadata(merged, `events.${index}.metadata`, issues);
    const metadata = toJsonObject(merged, `events.${index}.metadata`, issues);
    if (data === undefined || metadata === undefined) return;
    const bytes = Buffer.byteLength(data) + Buffer.byteLength(metadata);
    if (bytes > maxEventBytes) {
      issues.push({ path: `events.${index}`, message: `payload is ${bytes} bytes, over the limit of ${maxEventBytes}` });
    }
    events.push({ eventId, type: event.type, schemaVersion, data, metadata });
  });
  const messages = serializeMessages(request.messages ?? [], maxEventBytes, issues);
  if (issues.length > 0) throw new EventValidationError(issues);
  return { events, messages };
}
