import type { ValidationIssue } from './errors';
import { BASE_HEADER_BLOCK_BYTES, headerLineBytes, MAX_HEADER_BLOCK_BYTES } from './headerBlock';

// NATS refuses a header value with a line break and trims whitespace at either end
// (String.prototype.trim: tabs, no-break spaces and the like too): an event whose
// header text had either could never be published as stored.
const CARRIED_AS_IS = /^(?!\s)[^\r\n]*(?<!\s)$/u;
const PROBLEM = 'is carried in a NATS header when the event is published, which cannot hold a line break or keep whitespace at either end';

/** Whether NATS carries the text in a header as it is: no line break, no whitespace at either end. */
export const carriedAsHeader = (text: string): boolean => CARRIED_AS_IS.test(text);

/** The metadata the publisher copies into headers (Correlation-Id, Causation-Id, Command-Id, traceparent, tracestate). */
const HEADER_METADATA = ['correlationId', 'causationId', 'commandId', 'traceparent', 'tracestate'] as const;

/** Adds a problem at `path` when a text an event's headers carry would not go as it is. Builds nothing when it would. */
export function checkHeaderText(text: unknown, path: string, issues: ValidationIssue[]): void {
  if (typeof text === 'string' && !carriedAsHeader(text)) issues.push({ path, message: PROBLEM });
}

/** The same for each metadata field that becomes a header; a path is made only for a problem. */
export function checkHeaderMetadata(metadata: Readonly<Record<string, unknown>>, path: string, issues: ValidationIssue[]): void {
  for (const field of HEADER_METADATA) {
    const text = metadata[field];
    if (typeof text === 'string' && !carriedAsHeader(text)) issues.push({ path: `${path}.${field}`, message: PROBLEM });
  }
}

/** The header each metadata field becomes (core/publishing/eventMessages.ts). */
const HEADER_NAMES: Readonly<Record<(typeof HEADER_METADATA)[number], string>> = {
  correlationId: 'Correlation-Id',
  causationId: 'Causation-Id',
  commandId: 'Command-Id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
};

// Every event's own headers but those of its texts: Event-Id (a UUID) and two numbers of up to ten digits.
const FIXED_EVENT_HEADER_BYTES =
  BASE_HEADER_BLOCK_BYTES +
  headerLineBytes('Event-Id'.length, 36) +
  headerLineBytes('Event-Schema-Version'.length, 10) +
  headerLineBytes('Stream-Version'.length, 10);

/**
 * The bytes a value's text takes in a header, or undefined for none. A short
 * string is bounded by three bytes for each UTF-16 unit (a long one is
 * counted), which never refuses an event NATS would carry. The ids are typed
 * as strings; other JSON is read out as jsonb writes it, a space after each
 * ":" and ",", and is estimated at twice its JSON.
 */
function headerValueBytes(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.length < 1_000 ? value.length * 3 : Buffer.byteLength(value);
  return 2 * Buffer.byteLength(JSON.stringify(value));
}

/**
 * Adds a problem at `path` when an event's headers, as the publisher will send
 * them, could come to more than JetStream stores: the event would be stored
 * and could only be parked. Only an unusually long id or trace state gets near.
 */
export function checkEventHeaderBlock(
  texts: { streamId: string; streamType: string; type: string },
  metadata: Readonly<Record<string, unknown>>,
  path: string,
  issues: ValidationIssue[],
): void {
  let bytes =
    FIXED_EVENT_HEADER_BYTES +
    headerLineBytes('Stream-Id'.length, Buffer.byteLength(texts.streamId)) +
    headerLineBytes('Stream-Type'.length, Buffer.byteLength(texts.streamType)) +
    headerLineBytes('Event-Type'.length, Buffer.byteLength(texts.type));
  for (const field of HEADER_METADATA) {
    const valueBytes = headerValueBytes(metadata[field]);
    if (valueBytes !== undefined) bytes += headerLineBytes(HEADER_NAMES[field].length, valueBytes);
  }
  if (bytes > MAX_HEADER_BLOCK_BYTES) {
    issues.push({
      path,
      message: `its ids and trace context come to up to ${bytes} bytes in the headers the publisher sends: JetStream stores at most ${MAX_HEADER_BLOCK_BYTES}`,
    });
  }
}
