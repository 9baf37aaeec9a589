import { MAX_POSTGRES_INTEGER } from '../db';
import * as z from '../schema';
import { EventValidationError } from './errors';
import { isAtMostCharacters } from '../text';

export const MAX_NAME_LENGTH = 200;

export const isPlainObject = (value: unknown): value is object => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

const name = (what: string) =>
  z.string({ error: `${what} must be a string` }).check(
    z.minLength(1, `${what} must not be empty`),
    z.maxLength(MAX_NAME_LENGTH, `${what} must be at most ${MAX_NAME_LENGTH} characters`),
  );

const plainObject = (what: string) => z.custom<object>(isPlainObject, `${what} must be a plain JSON object`);

const AppendShape = z.object({
  streamId: name('stream id'),
  streamType: name('stream type'),
  expectedVersion: z.union([
    z.int().check(z.nonnegative(), z.maximum(MAX_POSTGRES_INTEGER)),
    z.enum(['no_stream', 'stream_exists', 'any']),
  ], { error: 'expected version must be a non-negative integer, "no_stream", "stream_exists" or "any"' }),
  events: z
    .array(
      z.object({
        type: name('event type'),
        data: plainObject('data'),
        eventId: z.optional(z.uuid('event id must be a UUID')),
        schemaVersion: z.optional(z.int().check(z.positive(), z.maximum(MAX_POSTGRES_INTEGER))),
        metadata: z.optional(plainObject('metadata')),
      }),
    )
    .check(z.minLength(1, 'append needs at least one event')),
  metadata: z.optional(plainObject('metadata')),
  // Each message is checked by serializeMessages.
  messages: z.optional(z.array(z.unknown(), { error: 'messages must be a list' })),
  // The command record the append writes or completes; the bus builds its own well-formed.
  idempotency: z.optional(
    z.object({
      commandId: name('command id'),
      commandType: z.string().check(z.minLength(1, 'command type must not be empty')),
      payloadHash: z.string().check(z.minLength(1, 'payload hash must not be empty')),
      correlationId: z.optional(name('correlation id')),
      existing: z.optional(z.enum(['none', 'pending'])),
    }),
  ),
});

const isText = (value: unknown): boolean => typeof value === 'string' && value.length > 0;
/** A name as the store holds it: text of 1 to MAX_NAME_LENGTH characters, as PostgreSQL's length() and zod count them. */
export const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && isAtMostCharacters(value, MAX_NAME_LENGTH);

/**
 * A feed filter: a list of one or more names. One text instead of a list reached
 * PostgreSQL as an array literal; an empty list, or a name no type can have
 * (null, 7, '', 201 characters), matched nothing, and a page's checkpoint passed
 * every event by.
 */
export function isFeedFilter(value: unknown): value is readonly string[] {
  if (!Array.isArray(value) || value.length === 0) return false;
  // for...of, not every(): every() skips a hole, and a list of holes would pass.
  for (const name of value as unknown[]) if (!isName(name)) return false;
  return true;
}
const MODES = new Set(['no_stream', 'stream_exists', 'any']);

/**
 * The common request, checked without zod: names, a version or mode, events
 * with plain data and nothing optional that needs a closer look. Parsing with
 * zod was most of an append's validation time.
 */
function obviouslyWellShaped(request: unknown): boolean {
  if (!isPlainObject(request)) return false;
  const { streamId, streamType, expectedVersion, events, metadata, idempotency, messages } = request as Record<string, unknown>;
  if (!isName(streamId) || !isName(streamType)) return false;
  if (messages !== undefined && !Array.isArray(messages)) return false;
  if (idempotency !== undefined && !obviouslyWellShapedRecord(idempotency)) return false;
  const versionOk = typeof expectedVersion === 'number'
    ? Number.isInteger(expectedVersion) && expectedVersion >= 0 && expectedVersion <= MAX_POSTGRES_INTEGER
    : MODES.has(expectedVersion as string);
  if (!versionOk || (metadata !== undefined && !isPlainObject(metadata))) return false;
  if (!Array.isArray(events) || events.length === 0) return false;
  // for...of, not every(): every() skips an array's holes, which are no events.
  for (const event of events as unknown[]) if (!obviouslyWellShapedEvent(event)) return false;
  return true;
}

function obviouslyWellShapedEvent(event: unknown): boolean {
  if (!isPlainObject(event)) return false;
  const { type, data, eventId, schemaVersion, metadata: own } = event as Record<string, unknown>;
  return isName(type) && isPlainObject(data) && eventId === undefined && schemaVersion === undefined && (own === undefined || isPlainObject(own));
}

function obviouslyWellShapedRecord(record: unknown): boolean {
  if (!isPlainObject(record)) return false;
  const { commandId, commandType, payloadHash, correlationId, existing } = record as Record<string, unknown>;
  return isName(commandId) && isText(commandType) && isText(payloadHash)
    && (correlationId === undefined || isName(correlationId)) && (existing === undefined || existing === 'none' || existing === 'pending');
}

/** What is wrong with a request of the wrong shape, as an EventValidationError naming every problem. */
export function appendShapeError(request: unknown): EventValidationError | undefined {
  if (obviouslyWellShaped(request)) return undefined;
  const shape = AppendShape.safeParse(request);
  if (shape.success) return undefined;
  return new EventValidationError(shape.error.issues.map((issue) => ({ path: issue.path.join('.') || '(request)', message: issue.message })));
}

