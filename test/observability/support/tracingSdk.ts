import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/**
 * The OpenTelemetry SDK installed for this test file (each file runs in its own
 * worker), recording every finished span in memory.
 */
export function installTracingSdk(): { spans: () => ReadableSpan[]; reset: () => void } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return {
    spans: () => exporter.getFinishedSpans(),
    reset: () => {
      exporter.reset();
    },
  };
}

/** A span's parent span id, if it has one. */
export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
