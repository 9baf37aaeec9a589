import { isPlainObject } from './appendShape';
import { HEADER_METADATA } from './headerText';
import { fitsHeaderBlock, isHeaderValue } from './integrationMessages';
import type { EventMetadata } from './types';

const CONTEXT_HEADERS = Object.entries(HEADER_METADATA) as [keyof typeof HEADER_METADATA, string][];
const TRACE_HEADERS: readonly string[] = [HEADER_METADATA.traceparent, HEADER_METADATA.tracestate];

/**
 * The append's integration messages with the context its events carry, as
 * headers under the names the events' have: the request's correlation,
 * causation and command ids, and its trace context. A consumer of the message
 * then continues the request's story and trace as one of an event does. A
 * header the message sets itself (in any case) is its own, and a trace
 * state is added only with the traceparent it belongs to: a message that
 * sets either of the two gets neither. A value a message
 * header cannot carry (text beyond ASCII, which events may hold) is left
 * out, and so is all of it where it would not fit the header block: the
 * context never makes an append fail. What is no list of messages, or a
 * message whose headers are none, is left as it is for the append's
 * validation to refuse.
 */
export function withContextHeaders(messages: unknown, context: EventMetadata): unknown {
  const given = CONTEXT_HEADERS.flatMap(([field, header]) => {
    const value = context[field];
    return typeof value === 'string' && isHeaderValue(value) ? [[header, value] as const] : [];
  });
  if (given.length === 0 || !Array.isArray(messages)) return messages;
  return messages.map((message: unknown) => {
    if (!isPlainObject(message)) return message;
    const stated = (message as { headers?: unknown }).headers;
    const own: unknown = stated === undefined ? {} : stated;
    if (!isPlainObject(own) || !Object.values(own).every((value) => typeof value === 'string')) return message;
    const taken = new Set(Object.keys(own).map((name) => name.toLowerCase()));
    const missing = given.filter(([header]) => !taken.has(header.toLowerCase()));
    // A trace state belongs to its trace: the context's is added only beside its traceparent, and
    // neither beside the message's own trace state, which would then seem to be of the request's trace.
    const ownTrace = TRACE_HEADERS.some((header) => taken.has(header.toLowerCase()));
    const added = missing.filter(([header]) => !ownTrace || !TRACE_HEADERS.includes(header));
    if (added.length === 0) return message;
    const headers = { ...Object.fromEntries(added), ...(own as Record<string, string>) };
    return fitsHeaderBlock(headers) ? { ...message, headers } : message;
  });
}
