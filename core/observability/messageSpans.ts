import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { contextFromTraceparent } from './tracing';
import { formatTraceparent } from './traceparent';

const tracer = trace.getTracer('serverless-event-sourcing');

/** A message's send span: its traceparent goes in the message's headers; ended when the broker answers. */
export interface MessageSpan {
  /** The traceparent to send with the message: the span's, else the one it came with. */
  traceparent: string | undefined;
  end(error?: unknown): void;
}

/**
 * A PRODUCER span for one message, in the trace the message was written in
 * (its stored traceparent), named and attributed by the messaging semantic
 * conventions. Messages are sent many at once, so the span is not made active.
 */
export function startMessageSpan(message: { subject: string; messageId: string; traceparent: string | undefined }, system: string): MessageSpan {
  const parent = contextFromTraceparent(message.traceparent) ?? context.active();
  const span = tracer.startSpan(
    `send ${message.subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': system,
        'messaging.operation.type': 'send',
        'messaging.destination.name': message.subject,
        'messaging.message.id': message.messageId,
      },
    },
    parent,
  );
  const spanContext = span.spanContext();
  const traceparent = trace.isSpanContextValid(spanContext)
    ? formatTraceparent({ traceId: spanContext.traceId, spanId: spanContext.spanId, flags: spanContext.traceFlags })
    : message.traceparent;
  return {
    traceparent,
    end(error) {
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : 'not sent' });
      span.end();
    },
  };
}
