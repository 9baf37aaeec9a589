import { trace } from '@opentelemetry/api';
import { runInContext } from './requestContext';
import { contextFromTraceparent, inSpan, linkTo, SpanKind } from './tracing';

/** What a processed item (an event, a message) says about the work that produced it. */
export interface TracedItem {
  id: string;
  correlationId?: string | undefined;
  commandId?: string | undefined;
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** An event as a traced item: its id, and the ids and trace its metadata carries. */
export function eventItem(event: { eventId: string; metadata: { correlationId?: string | undefined; commandId?: string | undefined; traceparent?: string | undefined; tracestate?: string | undefined } }): TracedItem {
  const { correlationId, commandId, traceparent, tracestate } = event.metadata;
  return { id: event.eventId, correlationId, commandId, traceparent, tracestate };
}

/** The request context of handling an item: its correlation, caused by the item itself, in its trace. */
function contextOf(item: TracedItem) {
  return {
    correlationId: item.correlationId ?? item.id,
    causationId: item.id,
    ...(item.commandId ? { commandId: item.commandId } : {}),
    ...(item.traceparent ? { traceparent: item.traceparent } : {}),
    ...(item.tracestate ? { tracestate: item.tracestate } : {}),
  };
}

/**
 * Handles one item of a batch in its own context (log lines carry its ids)
 * and, where the batch is traced, its own span under the batch's, linked to
 * the item's own trace. Untraced, it costs no span, and synchronous work (a
 * projection folding an event into its batch) stays synchronous: an item
 * then costs no promise.
 */
export function handleItem<T>(item: TracedItem, spanName: string, work: () => T | Promise<T>): T | Promise<T> {
  const recording = trace.getActiveSpan()?.isRecording() === true;
  return runInContext(contextOf(item), () =>
    recording
      ? inSpan(spanName, { kind: SpanKind.CONSUMER, links: linkTo(item.traceparent), attributes: { 'messaging.message.id': item.id } }, async () => work())
      : work(),
  );
}

/**
 * Handles one item received on its own (a NATS message) in its context and a
 * CONSUMER span that continues the item's trace: the receiver's work is part
 * of the trace that sent it.
 */
export function continueItem<T>(item: TracedItem, spanName: string, work: () => Promise<T>): Promise<T> {
  const parent = contextFromTraceparent(item.traceparent, item.tracestate);
  const request = contextOf(item);
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
