import type { ValidationIssue } from './errors';

// NATS refuses a header value with a line break and trims whitespace at either end
// (String.prototype.trim: tabs, no-break spaces and the like too): an event whose
// header text had either could never be published as stored.
const CARRIED_AS_IS = /^(?!\s)[^\r\n]*(?<!\s)$/u;
const PROBLEM = 'is carried in a NATS header when the event is published, which cannot hold a line break or keep whitespace at either end';

/** Whether NATS carries the text in a header as it is: no line break, no whitespace at either end. */
export const carriedAsHeader = (text: string): boolean => CARRIED_AS_IS.test(text);

/** The metadata the publisher copies into headers (Correlation-Id, Causation-Id, Command-Id, traceparent, tracestate). */
const HEADER_METADATA = ['correlationId', 'causationId', 'commandId', 'traceparent', 'tracestate'] as const;

/** Problems of names and metadata an event's published headers carry, each at its own path. */
export function headerTextProblems(texts: Readonly<Record<string, unknown>>): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  for (const [path, text] of Object.entries(texts)) {
    if (typeof text === 'string' && !carriedAsHeader(text)) problems.push({ path, message: PROBLEM });
  }
  return problems;
}

/** The metadata fields that become headers, keyed by their path. */
export function headerMetadata(metadata: Readonly<Record<string, unknown>>, path: string): Record<string, unknown> {
  return Object.fromEntries(HEADER_METADATA.map((field) => [`${path}.${field}`, metadata[field]]));
}
