import { context, createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Link, type Span, type SpanOptions } from '@opentelemetry/api';
import { currentContext } from './requestContext';
import { formatTraceparent, parseTraceparent } from './traceparent';
import { thrownMessage, thrownText } from '../errors';

/** Every span of the framework comes from this tracer; without an OpenTelemetry SDK it records nothing and costs little. */
const tracer = trace.getTracer('serverless-event-sourcing');

export { SpanKind };

/** An OpenTelemetry context whose parent is the span a traceparent names (from another process). */
export function contextFromTraceparent(traceparent: string | undefined, tracestate?: string, base: Context = ROOT_CONTEXT): Context | undefined {
  const parent = parseTraceparent(traceparent);
  if (!parent) return undefined;
  const spanContext = { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags & TraceFlags.SAMPLED, isRemote: true };
  return trace.setSpanContext(base, tracestate ? { ...spanContext, traceState: createTraceState(tracestate) } : spanContext);
}

/** Whether a span of this process is active (an OpenTelemetry SDK is installed and tracing this work). */
export function spanIsActive(): boolean {
  const active = trace.getActiveSpan()?.spanContext();
  return active !== undefined && trace.isSpanContextValid(active);
}

/** A link to the span a traceparent names, for a batch span that covers many items. */
export function linkTo(traceparent: string | undefined): Link[] {
  const parent = parseTraceparent(traceparent);
  return parent ? [{ context: { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags & TraceFlags.SAMPLED, isRemote: true } }] : [];
}

/**
 * The traceparent to write on what the current work produces (event metadata,
 * NATS headers): the active span's if there is one, else the request
 * context's (a trace without an SDK in this process).
 */
export function currentTraceparent(): string | undefined {
  const active = trace.getActiveSpan()?.spanContext();
  if (active && trace.isSpanContextValid(active)) return formatTraceparent({ traceId: active.traceId, spanId: active.spanId, flags: active.traceFlags });
  return currentContext()?.traceparent;
}

export interface SpanRequest extends SpanOptions {
  /** Where the span hangs: a context (from a traceparent), else the active one. */
  parent?: Context | undefined;
}

/**
 * Runs `work` in a span named `name`, ended when it settles; an error is
 * recorded on it and rethrown. It returns the span callback's own promise:
 * every command and append runs through here, and an async wrapper would add
 * a promise and a turn of the microtask queue to each.
 */
export function inSpan<T>(name: string, request: SpanRequest, work: (span: Span) => Promise<T>): Promise<T> {
  const { parent, ...options } = request;
  return tracer.startActiveSpan(name, options, parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : thrownText(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: thrownMessage(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
