import { trace } from '@opentelemetry/api';
import { currentContext } from './requestContext';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

/** Where log lines go: a function binds Powertools Logger, the dev server a readable printer; by default nowhere. */
export type LogSink = (level: LogLevel, message: string, fields: LogFields) => void;

let sink: LogSink = () => undefined;

export function configureLogging(logSink: LogSink): void {
  sink = logSink;
}

/** The ids of the work in progress, for every line: correlation, causation, command, trace and span. */
export function contextFields(): LogFields {
  const request = currentContext();
  const span = trace.getActiveSpan()?.spanContext();
  const traced = span && trace.isSpanContextValid(span) ? { traceId: span.traceId, spanId: span.spanId } : traceIdsOf(request?.traceparent);
  return {
    ...(request?.correlationId ? { correlationId: request.correlationId } : {}),
    ...(request?.causationId ? { causationId: request.causationId } : {}),
    ...(request?.commandId ? { commandId: request.commandId } : {}),
    ...traced,
  };
}

function traceIdsOf(traceparent: string | undefined): LogFields {
  const [, traceId, spanId] = traceparent?.split('-') ?? [];
  return traceId && spanId ? { traceId, spanId } : {};
}

const write = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
  sink(level, message, { ...contextFields(), ...fields });
};

/** core's logger: each line gets the ids of the work in progress. */
export const log = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
