/**
 * Commands through the bus with the OpenTelemetry SDK installed (every span
 * recorded, batched to an exporter that drops them), beside the same run with
 * tracing off, interleaved. Writes bench/results/observability.json.
 */
import { fileURLToPath } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { bankService } from '../core/bank';
import { createInProcessDispatcher } from '../core/commands';
import { createPgDb } from '../core/db';
import { createServiceRuntime } from '../core/service';
import { compareInterleaved } from './support/compareInterleaved';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement } from './support/targets';
import { busDeposits, openAccounts, type LoopTiming } from './scenarios/commandLoops';

const RESULTS_PATH = fileURLToPath(new URL('results/observability.json', import.meta.url));
const TIMING: LoopTiming = { warmupMs: 1_000, durationMs: 4_000 };
const CONCURRENCY = 8;

const exported = { spans: 0 };

/** Takes every batch of spans and keeps none (only counts them): the SDK's whole cost, without a collector's. */
const droppingExporter: SpanExporter = {
  export: (spans, done) => {
    exported.spans += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  },
  shutdown: () => Promise.resolve(),
};

function tracingOn(): () => Promise<void> {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(droppingExporter)] });
  trace.setGlobalTracerProvider(provider);
  return async () => {
    await provider.forceFlush();
    trace.disable();
    context.disable();
    // Spans were recorded (a command, its append, ...): the traced side measured what it claims to.
    if (exported.spans === 0) throw new Error('the traced run exported no span');
  };
}

async function runBenchmarks(url: string): Promise<Measurement[]> {
  const db = createPgDb({ connectionString: url, max: CONCURRENCY });
  try {
    const runtime = createServiceRuntime(bankService, { db, dispatcher: (run) => createInProcessDispatcher(run) });
    const accounts = await openAccounts(runtime.bus, CONCURRENCY);
    const measure = async (traced: boolean) => {
      const off = traced ? tracingOn() : () => Promise.resolve();
      try {
        return (await busDeposits(runtime.bus, accounts, CONCURRENCY, TIMING)).perSecond;
      } finally {
        await off();
      }
    };
    const comparison = await compareInterleaved(
      `commands through the bus, ${String(CONCURRENCY)} at once, traced by the OpenTelemetry SDK (baseline: tracing off)`,
      'commands/s',
      () => measure(true),
      () => measure(false),
    );
    return [{ ...comparison, target: { on: 'ratio', min: 0.9 } }];
  } finally {
    await db.close();
  }
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 25 s', run: runBenchmarks, format: formatReport });
