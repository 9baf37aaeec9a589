/**
 * Feed reads and batch appends next to hand-written SQL doing the same work, on
 * a fresh database that is dropped afterwards (single appends and commands: writepath.bench.ts). Writes bench/results/eventstore.json.
 */
import { fileURLToPath } from 'node:url';
import { benchmarkBatchAppends } from './scenarios/batchAppends';
import { benchmarkFeedReads } from './scenarios/feedReads';
import { analyzeBothSides, createBaselineTables } from './support/baselineTables';
import { withPlainPool } from './support/connections';
import type { Timing } from './support/measureThroughput';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import { APPEND_TARGET, FEED_TARGET, type Measurement } from './support/targets';

const RESULTS_PATH = fileURLToPath(new URL('results/eventstore.json', import.meta.url));
// Per round; every comparison runs 2 rounds per side (see compareInterleaved).
const TIMING: Timing = { warmupMs: 750, durationMs: 1_750 };
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
  await withPlainPool(url, 1, createBaselineTables);
  await withPlainPool(url, 1, analyzeBothSides);
  record({ ...(await benchmarkBatchAppends(url, BATCH.eventsPerAppend, BATCH.concurrency, TIMING)), target: APPEND_TARGET });
  return measurements;
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 70 s', run: runBenchmarks, format: formatReport });
