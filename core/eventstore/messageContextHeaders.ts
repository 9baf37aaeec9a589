import type { EventMetadata } from './types';

// The events' own header names for these fields (see the publisher's event headers).
const CONTEXT_HEADERS = [
  ['Correlation-Id', 'correlationId'],
  ['Causation-Id', 'causationId'],
  ['Command-Id', 'commandId'],
  ['traceparent', 'traceparent'],
  ['tracestate', 'tracestate'],
] as const;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/**
 * The append's integration messages with the context its events carry, as
 * headers under the names the events' have: the request's correlation,
 * causation and command ids, and its trace context. A consumer of the message
 * then continues the request's story and trace as one of an event does. A
 * header the message sets itself (in any case) is its own. What is no list of
 * messages, or a message whose headers are none, is left as it is for the
 * append's validation to refuse.
 */
export function withContextHeaders(messages: unknown, context: EventMetadata): unknown {
  const given = CONTEXT_HEADERS.flatMap(([header, field]) => {
    const value = context[field];
    return typeof value === 'string' ? [[header, value] as const] : [];
  });
  if (given.length === 0 || !Array.isArray(messages)) return messages;
  return messages.map((message: unknown) => {
    if (!isPlainObject(message) || (message.headers !== undefined && !isPlainObject(message.headers))) return message;
    const own = message.headers ?? {};
    const taken = new Set(Object.keys(own).map((name) => name.toLowerCase()));
    const added = given.filter(([header]) => !taken.has(header.toLowerCase()));
    return added.length === 0 ? message : { ...message, headers: { ...Object.fromEntries(added), ...own } };
  });
}
