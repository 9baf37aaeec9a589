/**
 * One round of the observability benchmark, in a process of its own (see
 * depositRounds.ts): Deposit commands through the bank's bus, one account per
 * worker, with the OpenTelemetry SDK installed or with none. Tracing is set up
 * (or not) before the app is imported; nothing here imports core at load time.
 * Sends its parent what it measured, the spans the SDK exported, and proof of
 * which side it was.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { measureThroughputAndCpu } from '../support/measureThroughput';
import { depositStep } from './commandLoops';
import { DepositRoundJobSchema, type DepositRoundAnswer, type DepositRoundJob, type DepositRoundReport } from './depositRounds';

interface Tracing {
  exported: { spans: number };
  flush(): Promise<void>;
}

/**
 * The SDK's whole cost without a collector's: every span recorded, batched,
 * and handed to an exporter that counts it and keeps none.
 */
function installTracing(): Tracing {
  const exported = { spans: 0 };
  const countingExporter: SpanExporter = {
    export: (spans, done) => {
      exported.spans += spans.length;
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
  };
  if (!context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())) throw new Error('a context manager was already installed');
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(countingExporter)] });
  if (!trace.setGlobalTracerProvider(provider)) throw new Error('a tracer provider was already installed');
  return { exported, flush: () => provider.forceFlush() };
}

/** Whether a tracer taken now from the API's global provider records (it never does in a process that installed no SDK). */
function globalTracerRecording(): boolean {
  const span = trace.getTracer('benchmark probe').startSpan('probe');
  const recording = span.isRecording();
  span.end();
  return recording;
}

async function runRound(job: DepositRoundJob): Promise<DepositRoundReport> {
  const tracing = job.traced ? installTracing() : undefined;
  // Imported after tracing is set up (or left out), as a function's handler module would be.
  const { runtimeLoader } = await import('../../functions/runtime');
  const { bankService } = await import('../../core/bank');
  const { inSpan } = await import('../../core/observability');
  const runtime = await runtimeLoader(bankService)();
  try {
    const acknowledged = { count: 0 };
    const { rate, cpu } = await measureThroughputAndCpu({
      warmupMs: job.warmupMs,
      durationMs: job.durationMs,
      concurrency: job.concurrency,
      createWorker: (index) => depositStep(runtime.bus, job.accounts[index] ?? '', acknowledged),
    });
    await tracing?.flush();
    const spansExported = tracing?.exported.spans ?? 0;
    // After the count: on the traced side the probe's own span is not counted.
    const probe = await inSpan('benchmark probe', {}, (span) =>
      Promise.resolve({ recording: span.isRecording(), valid: trace.isSpanContextValid(span.spanContext()) }),
    );
    return { rate, ...(cpu ? { cpu } : {}), acknowledged: acknowledged.count, spansExported, globalTracerRecording: globalTracerRecording(), probe };
  } finally {
    await runtime.db.close();
  }
}

function answer(message: DepositRoundAnswer): void {
  if (!process.send) throw new Error('depositRoundProcess.ts runs as a child process of the observability benchmark');
  process.send(message, () => {
    process.exit(message.ok ? 0 : 1);
  });
}

runRound(DepositRoundJobSchema.parse(JSON.parse(process.argv[2] ?? '{}'))).then(
  (report) => {
    answer({ ok: true, report });
  },
  (error: unknown) => {
    answer({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  },
);
