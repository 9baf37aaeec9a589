/**
 * The app's write path beside hand-written SQL doing the same work, on a fresh
 * database that is dropped afterwards: single-event appends, and commands
 * through the app's own bus. Writes bench/results/writepath.json.
 */
import { fileURLToPath } from 'node:url';
import { benchmarkBusCommands } from './scenarios/busCommands';
import { benchmarkSingleAppends } from './scenarios/singleAppends';
import { analyzeBothSides, createBaselineTables } from './support/baselineTables';
import { withPlainPool } from './support/connections';
import type { Timing } from './support/measureThroughput';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import { seedHistory } from './support/seedHistory';
import { COMMAND_TARGET, SINGLE_APPEND_TARGET, type Measurement } from './support/targets';

const RESULTS_PATH = fileURLToPath(new URL('results/writepath.json', import.meta.url));
const TIMING: Timing = { warmupMs: 750, durationMs: 2_500 };
const CONCURRENCIES = [1, 8, 32];
const POOL_SIZE = 32;

async function runBenchmarks(url: string): Promise<Measurement[]> {
  process.env.DATABASE_URL = url;
  process.env.DB_POOL_MAX = String(POOL_SIZE);
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const { bankService } = await import('../core/bank');
  // The bounds the deployed functions run with (sst.config.ts): each statement is timed.
  process.env.DB_CONNECT_TIMEOUT_MS = String(bankService.database.connectTimeoutMs);
  process.env.DB_QUERY_TIMEOUT_MS = String(bankService.database.queryTimeoutMs);
  // Imported after the environment is set: the app reads it when it is first built.
  const { runtimeLoader } = await import('../functions/runtime');
  const app = await runtimeLoader(bankService, { migrate: true })();
  const measurements: Measurement[] = [];
  const record = (measurement: Measurement) => {
    measurements.push(measurement);
    console.error(`  done: ${measurement.result.name}`);
  };
  try {
    await seedHistory(app.store);
    await withPlainPool(url, 1, createBaselineTables);
    for (const concurrency of CONCURRENCIES) {
      await withPlainPool(url, 1, analyzeBothSides);
      record({ ...(await benchmarkSingleAppends(url, concurrency, TIMING)), target: SINGLE_APPEND_TARGET });
    }
    for (const concurrency of CONCURRENCIES) {
      await withPlainPool(url, 1, analyzeBothSides);
      record({ ...(await benchmarkBusCommands(url, app.bus, concurrency, POOL_SIZE, TIMING)), target: COMMAND_TARGET });
    }
  } finally {
    await app.db.close();
  }
  return measurements;
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 90 s', run: runBenchmarks, format: formatReport });
