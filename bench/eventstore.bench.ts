/**
 * Event store throughput next to hand-written SQL doing the same work, on a
 * fresh database that is dropped afterwards. Writes bench/results/eventstore.json.
 */
import { fileURLToPath } from 'node:url';
import { benchmarkAppends } from './scenarios/appends';
import { benchmarkFeedReads } from './scenarios/feedReads';
import { createBaselineTable } from './support/baselineEvents';
import { withPlainPool } from './support/connections';
import type { Timing } from './support/measureThroughput';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import { APPEND_TARGET, FEED_TARGET, type Measurement } from './support/targets';

const RESULTS_PATH = fileURLToPath(new URL('results/eventstore.json', import.meta.url));
// Per round; every comparison runs 2 rounds per side (see compareInterleaved).
const TIMING: Timing = { warmupMs: 750, durationMs: 1_750 };
const SINGLE_APPEND_CONCURRENCIES = [1, 8, 32];
const BATCH = { eventsPerAppend: 10, concurrency: 8 };
const FEED = { eventCount: 100_000, batchSize: 1_000 };

async function runBenchmarks(url: string): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  const record = (measurement: Measurement) => {
    measurements.push(measurement);
    console.error(`  done: ${measurement.result.name}`);
  };
  // The feed goes first, so it holds exactly FEED.eventCount events.
  record({ ...(await benchmarkFeedReads(url, { ...FEED, timing: TIMING })), target: FEED_TARGET });
  await withPlainPool(url, 1, createBaselineTable);
  for (const concurrency of SINGLE_APPEND_CONCURRENCIES) {
    const comparison = await benchmarkAppends(url, { eventsPerAppend: 1, concurrency, timing: TIMING });
    record({ ...comparison, target: APPEND_TARGET });
  }
  record({ ...(await benchmarkAppends(url, { ...BATCH, timing: TIMING })), target: APPEND_TARGET });
  return measurements;
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 70 s', run: runBenchmarks, format: formatReport });
