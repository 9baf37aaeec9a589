/**
 * Aggregate load times with and without snapshots, and the cost of upcasting
 * old events on the global feed, on a fresh database that is dropped
 * afterwards. Writes bench/results/aggregates.json.
 */
import { fileURLToPath } from 'node:url';
import { benchmarkAggregateLoads } from './scenarios/aggregateLoads';
import { benchmarkUpcastingOverhead } from './scenarios/upcastingOverhead';
import { formatAggregateReport, type AggregateMeasurement } from './support/aggregateTargets';
import { runBench } from './support/runBench';

const RESULTS_PATH = fileURLToPath(new URL('results/aggregates.json', import.meta.url));

const LOADS = {
  sizes: [10, 1_000, 10_000],
  snapshots: { every: 100, schemaVersion: 1 },
  // A snapshot should make a long-lived aggregate load about as fast as a new one.
  snapshotTarget: { atMost: 2 },
  // One short of the next snapshot: the longest tail a load with "every 100" reads.
  behindSnapshot: 99,
  // Per round; a 10-event load takes well under a millisecond, a 10,000-event
  // rebuild tens of milliseconds, so a fixed time gives each enough loads.
  timing: { warmupMs: 500, durationMs: 1_200 },
};

const UPCASTING = {
  eventCount: 50_000,
  batchSize: 1_000,
  // Upcasting may make a feed scan at most 1.3 times slower.
  target: { atLeast: 1 / 1.3 },
  // A scan takes a few hundred milliseconds: about 15 per side.
  timing: { warmupMs: 1_500, durationMs: 8_000 },
};

async function runBenchmarks(url: string): Promise<AggregateMeasurement[]> {
  // The feed goes first, so it holds exactly the old-schema events.
  console.error('upcasting overhead on the global feed');
  const upcasting = await benchmarkUpcastingOverhead(url, UPCASTING);
  console.error('aggregate loads');
  const loads = await benchmarkAggregateLoads(url, LOADS);
  return [...loads, upcasting];
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 35 s', run: runBenchmarks, format: formatAggregateReport });
