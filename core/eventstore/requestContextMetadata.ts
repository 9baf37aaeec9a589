import { currentContext, currentTraceparent } from '../observability';
import type { AppendRequest, EventMetadata, EventShape } from './types';

/**
 * The events carry the trace context of the append (its span's where one is
 * recording, else the request's) and, unless the append names its own, the
 * request's correlation and causation: an append in a consumer's handler
 * stays in the story of the request whose message it handles. Not the
 * request's command id: that says which command stored an event.
 */
export function withRequestContext<E extends EventShape>(request: AppendRequest<E>): AppendRequest<E> {
  const context = currentContext();
  const traceparent = currentTraceparent() ?? request.metadata?.traceparent;
  const correlated = context === undefined || request.metadata?.correlationId !== undefined;
  if (!traceparent && correlated) return request;
  const metadata: EventMetadata = { ...request.metadata };
  if (!correlated) {
    metadata.correlationId = context.correlationId;
    if (metadata.causationId === undefined && context.causationId !== undefined) metadata.causationId = context.causationId;
  }
  if (traceparent) {
    metadata.traceparent = traceparent;
    if (context?.tracestate) metadata.tracestate = context.tracestate;
  }
  return { ...request, metadata };
}
