/**
 * Projection catch-up throughput beside hand-written SQL doing the same updates
 * in the same batch size, on a fresh database that is dropped afterwards.
 * Writes bench/results/projections.json.
 */
import { fileURLToPath } from 'node:url';
import { benchmarkSummaryCatchUp } from './scenarios/summaryCatchUp';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement } from './support/targets';

const RESULTS_PATH = fileURLToPath(new URL('results/projections.json', import.meta.url));
const SCENARIO = { accounts: 1_000, eventsPerAccount: 100, batchSize: 500 };
const MIN_EVENTS_PER_SECOND = 20_000;
const MIN_RATIO = 0.5;

async function runBenchmarks(url: string): Promise<Measurement[]> {
  const comparison = await benchmarkSummaryCatchUp(url, SCENARIO);
  return [{ ...comparison, target: { on: 'value', min: MIN_EVENTS_PER_SECOND } }];
}

// The row carries one target (the rate); the ratio's verdict follows the table.
function format(measurements: readonly Measurement[]): string {
  const ratios = measurements.map(({ result }) => `${result.name}: ratio ${result.ratio.toFixed(2)} (target >= ${MIN_RATIO}): ${result.ratio >= MIN_RATIO ? 'met' : 'NOT met'}`);
  return [formatReport(measurements), ...ratios].join('\n');
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 40 s', run: runBenchmarks, format });
