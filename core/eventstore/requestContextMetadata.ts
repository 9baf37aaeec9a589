import { currentContext, currentTraceparent, type RequestContext } from '../observability';
import { definedFields } from './definedFields';
import { isStorableHeaderId } from './storableHeaderId';
import { isStorableTraceState } from './storableTraceState';
import { withContextHeaders } from './messageContextHeaders';
import type { AppendRequest, EventMetadata, EventShape, IntegrationMessage, NewEvent } from './types';

/** The context's correlation and causation ids the store would keep; undefined for none. */
function originOf(context: RequestContext, requestMetadata: EventMetadata | undefined): EventMetadata | undefined {
  const origin: EventMetadata = {};
  if (isStorableHeaderId(context.correlationId)) origin.correlationId = context.correlationId;
  // The request's own causation stands for its events, as its fields do in the merge.
  const { causationId } = context;
  if (causationId !== undefined && requestMetadata?.causationId === undefined && isStorableHeaderId(causationId)) origin.causationId = causationId;
  return origin.correlationId === undefined && origin.causationId === undefined ? undefined : origin;
}

/**
 * The events carry the trace context of the append (its span's where one is
 * recording, else the request's) and, unless the append names a correlation of
 * its own, the request's correlation and causation: an append in a consumer's
 * handler stays in the story of the request whose message it handles. An
 * event naming its own correlation keeps its own story, and an id or a
 * tracestate the store would refuse is left out rather than fail the append. Not the request's
 * command id: that says which command stored an event.
 */
export function withRequestContext<E extends EventShape>(request: AppendRequest<E>): AppendRequest<E> {
  const context = currentContext();
  const traceparent = currentTraceparent() ?? request.metadata?.traceparent;
  const origin = context && request.metadata?.correlationId === undefined ? originOf(context, request.metadata) : undefined;
  const hasMessages = Array.isArray(request.messages) && request.messages.length > 0;
  if (!traceparent && !origin && !hasMessages) return request;
  let { metadata } = request;
  if (traceparent) {
    metadata = { ...metadata, traceparent };
    if (context?.tracestate && isStorableTraceState(context.tracestate)) metadata.tracestate = context.tracestate;
  }
  const events = origin
    ? request.events.map((event): NewEvent<E> => (event.metadata?.correlationId === undefined ? { ...event, metadata: { ...origin, ...definedFields(event.metadata) } } : event))
    : request.events;
  // The events' shared context (what every event of the append carries unless it names its own), on each message.
  const messages = hasMessages ? (withContextHeaders(request.messages, { ...origin, ...definedFields(metadata) }) as readonly IntegrationMessage[]) : request.messages;
  return { ...request, events, ...(metadata ? { metadata } : {}), ...(messages ? { messages } : {}) };
}
