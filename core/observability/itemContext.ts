import { trace } from '@opentelemetry/api';
import { runInContext, type RequestContext } from './requestContext';
import { contextFromTraceparent, inSpan, linkTo, SpanKind } from './tracing';
import { isThenable } from '../promises';

/** The ids and trace a processed item (an event's metadata, a message's headers) carries about the work that produced it. */
export interface ItemOrigin {
  correlationId?: string | undefined;
  commandId?: string | undefined;
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** A processed item: its own id and its origin. */
export interface TracedItem extends ItemOrigin {
  id: string;
}

/** The request context of handling an item: its correlation, caused by the item itself, in its trace. */
function contextOf(id: string, origin: ItemOrigin): RequestContext {
  // Built field by field rather than with conditional spreads: this runs for every event a projection folds.
  const context: RequestContext = { correlationId: origin.correlationId ?? id, causationId: id };
  if (origin.commandId) context.commandId = origin.commandId;
  if (origin.traceparent) context.traceparent = origin.traceparent;
  if (origin.tracestate) context.tracestate = origin.tracestate;
  return context;
}

/**
 * Handles one event of a batch in its own context (log lines carry its ids)
 * and, where the batch is traced, its own span under the batch's, linked to
 * the event's own trace. Untraced, it costs no span, and synchronous work (a
 * projection folding an event into its batch) stays synchronous: an event
 * then costs no promise. An asynchronous result comes back as a native Promise.
 */
export function handleEvent<T>(event: { eventId: string; metadata: ItemOrigin }, spanName: string, work: () => T | PromiseLike<T>): T | Promise<T> {
  const recording = trace.getActiveSpan()?.isRecording() === true;
  return runInContext(contextOf(event.eventId, event.metadata), () => {
    if (recording) {
      return inSpan(spanName, { kind: SpanKind.CONSUMER, links: linkTo(event.metadata.traceparent), attributes: { 'messaging.message.id': event.eventId } }, async () => work());
    }
    const result = work();
    // Any other thenable (a query builder's, a lazy Promise subclass such as a postgres.js
    // query, a promise of another realm) is adopted here, in the event's context: a lazy
    // one runs its work only when `then` is called, which the caller's await would do
    // outside it. A native Promise is handed back as it is.
    return isThenable(result) ? Promise.resolve(result) : result;
  });
}

/**
 * Handles one item received on its own (a NATS message) in its context and a
 * CONSUMER span that continues the item's trace: the receiver's work is part
 * of the trace that sent it.
 */
export function continueItem<T>(item: TracedItem, spanName: string, work: () => Promise<T>): Promise<T> {
  const parent = contextFromTraceparent(item.traceparent, item.tracestate);
  const request = contextOf(item.id, item);
  return runInContext(request, () =>
    inSpan(spanName, { kind: SpanKind.CONSUMER, parent, attributes: { 'messaging.message.id': item.id, 'messaging.operation.type': 'process' } }, work),
  );
}

/** A batch's span: linked to every item's trace, for a processor that handles (CONSUMER) or sends (PRODUCER) many at once. */
export function inBatchSpan<T>(
  name: string,
  traceparents: readonly (string | undefined)[],
  attributes: Record<string, string | number>,
  work: () => Promise<T>,
  kind: SpanKind = SpanKind.CONSUMER,
): Promise<T> {
  return inSpan(name, { kind, links: traceparents.flatMap((traceparent) => linkTo(traceparent)), attributes }, () => work());
}
