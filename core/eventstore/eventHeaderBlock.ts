import type { ValidationIssue } from './errors';
import { EMPTY_HEADER_BLOCK_BYTES, headerLineBytes, MAX_HEADER_BLOCK_BYTES, MESSAGE_ID_HEADER_BYTES } from './headerBlock';
import { HEADER_METADATA } from './headerText';

// Every event's own headers but those of its texts: Event-Id (a UUID) and two numbers of up to ten digits.
const FIXED_EVENT_HEADER_BYTES =
  EMPTY_HEADER_BLOCK_BYTES +
  MESSAGE_ID_HEADER_BYTES +
  headerLineBytes('Event-Id'.length, 36) +
  headerLineBytes('Event-Schema-Version'.length, 10) +
  headerLineBytes('Stream-Version'.length, 10);

const HEADERS = Object.entries(HEADER_METADATA) as [keyof typeof HEADER_METADATA, string][];
// The publisher sends one traceparent: the event's, or its send span's (55 characters) in its place.
const SEND_SPAN_TRACEPARENT_BYTES = 55;

interface EventTexts {
  streamId: string;
  streamType: string;
  type: string;
}

/** The event's header block, its texts counted by `bytesOf`. */
function blockBytes(texts: EventTexts, metadata: Readonly<Record<string, unknown>>, bytesOf: (text: string) => number): number {
  let bytes =
    FIXED_EVENT_HEADER_BYTES +
    headerLineBytes('Stream-Id'.length, bytesOf(texts.streamId)) +
    headerLineBytes('Stream-Type'.length, bytesOf(texts.streamType)) +
    headerLineBytes('Event-Type'.length, bytesOf(texts.type));
  for (const [field, header] of HEADERS) {
    const value = metadata[field];
    if (field === 'traceparent') {
      const own = typeof value === 'string' ? bytesOf(value) : 0;
      bytes += headerLineBytes(header.length, Math.max(own, SEND_SPAN_TRACEPARENT_BYTES));
    } else if (typeof value === 'string') {
      bytes += headerLineBytes(header.length, bytesOf(value));
    }
  }
  return bytes;
}

// At most three UTF-8 bytes for each UTF-16 unit: an upper bound read off the lengths alone.
const atMostBytes = (text: string) => text.length * 3;

/**
 * Adds a problem at `path` when an event's headers, as the publisher will send
 * them, would come to more than JetStream stores: the event would be stored
 * and could only be parked. Header metadata is text (checkHeaderMetadata); the
 * texts are counted in UTF-8 only when their lengths alone leave it in doubt,
 * which takes an unusually long id or trace state.
 */
export function checkEventHeaderBlock(texts: EventTexts, metadata: Readonly<Record<string, unknown>>, path: string, issues: ValidationIssue[]): void {
  if (blockBytes(texts, metadata, atMostBytes) <= MAX_HEADER_BLOCK_BYTES) return;
  const bytes = blockBytes(texts, metadata, (text) => Buffer.byteLength(text));
  if (bytes > MAX_HEADER_BLOCK_BYTES) {
    issues.push({
      path,
      message: `its ids and trace context come to up to ${bytes} bytes in the headers the publisher sends: JetStream stores at most ${MAX_HEADER_BLOCK_BYTES}`,
    });
  }
}
