import type { ValidationIssue } from './errors';

// NATS refuses a header value with a line break and trims whitespace at either end
// (String.prototype.trim: tabs, no-break spaces and the like too): an event whose
// header text had either could never be published as stored.
const CARRIED_AS_IS = /^(?!\s)[^\r\n]*(?<!\s)$/u;
const PROBLEM = 'is carried in a NATS header when the event is published, which cannot hold a line break or keep whitespace at either end';

/** Whether NATS carries the text in a header as it is: no line break, no whitespace at either end. */
export const carriedAsHeader = (text: string): boolean => CARRIED_AS_IS.test(text);

/** The metadata the publisher copies into headers, and the header each becomes (core/publishing/eventMessages.ts). */
export const HEADER_METADATA = {
  correlationId: 'Correlation-Id',
  causationId: 'Causation-Id',
  commandId: 'Command-Id',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;
const HEADER_METADATA_FIELDS = Object.keys(HEADER_METADATA) as (keyof typeof HEADER_METADATA)[];

/** Adds a problem at `path` when a text an event's headers carry would not go as it is. Builds nothing when it would. */
export function checkHeaderText(text: unknown, path: string, issues: ValidationIssue[]): void {
  if (typeof text === 'string' && !carriedAsHeader(text)) issues.push({ path, message: PROBLEM });
}

/**
 * The same for each metadata field that becomes a header, which must be text
 * (or null, for none): the database would write out any other JSON as the
 * header's value. A path is made only for a problem.
 */
export function checkHeaderMetadata(metadata: Readonly<Record<string, unknown>>, path: string, issues: ValidationIssue[]): void {
  for (const field of HEADER_METADATA_FIELDS) {
    const text = metadata[field];
    if (typeof text === 'string') {
      if (!carriedAsHeader(text)) issues.push({ path: `${path}.${field}`, message: PROBLEM });
    } else if (text !== undefined && text !== null) {
      issues.push({ path: `${path}.${field}`, message: 'must be a string: it is carried in a NATS header when the event is published' });
    }
  }
}
