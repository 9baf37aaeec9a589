import * as z from '../schema';
import { findUnstorableText } from '../text/storableText';
import { EventValidationError, type ValidationIssue } from './errors';
import { newEventId } from './eventIds';
import { serializeMessages } from './integrationMessages';
import { toJsonObject } from './jsonText';
import { checkAppendShape, MAX_NAME_LENGTH } from './appendShape';
import type { AppendRequest, EventShape, IdempotencyRecord } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';

export { MAX_NAME_LENGTH };
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

const IdempotencyShape = z.object({
  commandId: z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`)),
  commandType: z.string().check(z.minLength(1, 'must not be empty')),
  payloadHash: z.string().check(z.minLength(1, 'must not be empty')),
  correlationId: z.optional(z.string()),
  existing: z.optional(z.enum(['none', 'pending'])),
});

const isText = (value: unknown, maxLength = Number.POSITIVE_INFINITY) => typeof value === 'string' && value.length > 0 && value.length <= maxLength;

/**
 * The command record an append writes or completes, checked for callers that
 * append directly (the bus builds its own well-formed); zod only says what is
 * wrong, as for the append itself.
 */
function idempotencyIssues(record: IdempotencyRecord): ValidationIssue[] {
  const { commandId, commandType, payloadHash, correlationId } = record;
  const existing: unknown = record.existing;
  const wellShaped = isText(commandId, MAX_NAME_LENGTH) && isText(commandType) && isText(payloadHash)
    && (correlationId === undefined || typeof correlationId === 'string') && (existing === undefined || existing === 'none' || existing === 'pending');
  if (!wellShaped) {
    const shape = IdempotencyShape.safeParse(record);
    if (!shape.success) return shape.error.issues.map((issue) => ({ path: ['idempotency', ...issue.path.map(String)].join('.'), message: issue.message }));
  }
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
  if (request.idempotency !== undefined) issues.push(...idempotencyIssues(request.idempotency));
  const events: SerializedEvent[] = [];
  request.events.forEach((event, index) => {
    issues.push(...findUnstorableText(event.type, `events.${index}.type`));
    const eventId = event.eventId ?? newEventId();
    const schemaVersion = schemaVersionFor(event, index, upcaster, issues);
    const data = toJsonObject(event.data, `events.${index}.data`, issues);
    const metadata = toJsonObject({ ...request.metadata, ...event.metadata }, `events.${index}.metadata`, issues);
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
