/**
 * Projection catch-up throughput beside hand-written SQL doing the same updates
 * in the same batch size, on a fresh database that is dropped afterwards; both
 * page reads' plans go to the log.
 * Writes bench/results/projections.json.
 */
import { fileURLToPath } from 'node:url';
import { benchmarkSummaryCatchUp } from './scenarios/summaryCatchUp';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement } from './support/targets';

const RESULTS_PATH = fileURLToPath(new URL('results/projections.json', import.meta.url));
const SCENARIO = { accounts: 1_000, eventsPerAccount: 100, batchSize: 500 };
const MIN_RATIO = 0.8;

async function runBenchmarks(url: string): Promise<Measurement[]> {
  const comparison = await benchmarkSummaryCatchUp(url, SCENARIO);
  return [{ ...comparison, target: { on: 'ratio', min: MIN_RATIO } }];
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 40 s', run: runBenchmarks, format: formatReport });
