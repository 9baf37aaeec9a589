/**
 * Commands through the bus with the OpenTelemetry SDK installed (every span
 * recorded, batched to an exporter that drops them), beside the same run with
 * no SDK at all, A-B-B-A. Every round runs in a fresh process that sets
 * tracing up, or leaves it out, before it imports the app
 * (scenarios/depositRounds.ts): in one process, the tracer core takes at load
 * stays bound to the first SDK provider, so an "off" round after a traced one
 * still traced. Writes bench/results/observability.json.
 */
import { fileURLToPath } from 'node:url';
import { compareInterleaved } from './support/compareInterleaved';
import { withPlainPool } from './support/connections';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement } from './support/targets';
import { analyzeTables, checkDepositsWritten, openAccounts, type LoopTiming } from './scenarios/commandLoops';
import { runDepositRound, type DepositRoundReport } from './scenarios/depositRounds';

const RESULTS_PATH = fileURLToPath(new URL('results/observability.json', import.meta.url));
// Each round starts in a cold process: a longer warm-up than in-process rounds need, so JIT compilation is not timed.
const TIMING: LoopTiming = { warmupMs: 2_000, durationMs: 4_000 };
const CONCURRENCY = 8;
// The same on both sides: one connection per worker.
const POOL_SIZE = CONCURRENCY;
// A command's span and its append's.
const SPANS_PER_DEPOSIT = 2;

/** Fails the benchmark unless the round was the side it claims to be, and every span it made was exported. */
function checkTracing(report: DepositRoundReport, traced: boolean, round: string): void {
  const { spansExported, acknowledged, globalTracerRecording, probe } = report;
  if (traced) {
    if (!globalTracerRecording || !probe.recording || !probe.valid) throw new Error(`${round}: core's tracer was not recording`);
    if (spansExported !== SPANS_PER_DEPOSIT * acknowledged) {
      throw new Error(`${round}: ${String(spansExported)} spans exported for ${String(acknowledged)} deposits (expected ${String(SPANS_PER_DEPOSIT)} each)`);
    }
  } else if (globalTracerRecording || probe.recording || probe.valid || spansExported !== 0) {
    throw new Error(`${round}: tracing was not off (global tracer recording ${String(globalTracerRecording)}, probe recording ${String(probe.recording)}, ${String(spansExported)} spans exported)`);
  }
}

async function runBenchmarks(url: string): Promise<Measurement[]> {
  // The rounds' processes inherit this environment, and build the bank's runtime from it as its functions do.
  process.env.DATABASE_URL = url;
  process.env.DB_POOL_MAX = String(POOL_SIZE);
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { runtimeLoader } = await import('../functions/runtime');
  const { account, bankService } = await import('../core/bank');
  // Migrated, and every round's accounts opened, here (this process never traces); its pool is closed before any round.
  const app = await runtimeLoader(bankService, { migrate: true })();
  const accounts: Record<'traced' | 'off', string[][]> = { traced: [], off: [] };
  try {
    for (const side of ['traced', 'off'] as const) {
      for (let round = 0; round < 2; round += 1) accounts[side].push(await openAccounts(app.bus, CONCURRENCY));
    }
  } finally {
    await app.db.close();
  }

  const measure = (traced: boolean) => async (round: number) => {
    const side = traced ? 'traced' : 'off';
    const roundAccounts = accounts[side][round - 1] ?? [];
    const label = `${side} round ${String(round)}`;
    await withPlainPool(url, 1, analyzeTables);
    const report = await runDepositRound({ traced, accounts: roundAccounts, concurrency: CONCURRENCY, ...TIMING });
    checkTracing(report, traced, label);
    await withPlainPool(url, 1, (pool) => checkDepositsWritten(pool, roundAccounts.map((id) => account.streamId(id)), report.acknowledged, label));
    console.error(`  ${label}: ${Math.round(report.rate)} commands/s; ${String(report.acknowledged)} deposits written, ${String(report.spansExported)} spans exported`);
    return { rate: report.rate, cpu: report.cpu };
  };
  const comparison = await compareInterleaved(
    `commands through the bus, ${String(CONCURRENCY)} at once, traced by the OpenTelemetry SDK (baseline: tracing off)`,
    'commands/s',
    measure(true),
    measure(false),
  );
  return [{ ...comparison, target: { on: 'ratio', min: 0.9 } }];
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 40 s', run: runBenchmarks, format: formatReport });
