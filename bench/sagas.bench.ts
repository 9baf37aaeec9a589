/**
 * Sagas: transfers end to end through the transfer saga, beside a hand-written
 * loop running the same commands directly; and how late timeouts fire, beside
 * a hand-written poller of a deadlines table at the same pace. Writes
 * bench/results/sagas.json.
 */
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../test/support/testDatabase';
import { compareInterleaved } from './support/compareInterleaved';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement } from './support/targets';
import { measureDirectTransfers, measureSagaTransfers, type TransferWorkload } from './scenarios/sagaTransfers';
import { measurePollerLateness, measureSagaLateness, type LatenessWorkload } from './scenarios/timeoutLateness';

const RESULTS_PATH = fileURLToPath(new URL('results/sagas.json', import.meta.url));
const TRANSFERS: TransferWorkload = { transfers: 400, accounts: 40, concurrency: 8, poolMax: 16 };
const LATENESS: LatenessWorkload = { timeouts: 300, spreadMs: 6_000, pollMs: 1_000 };

async function runBenchmarks(url: string): Promise<Measurement[]> {
  // The loop's TransferRequested events would start sagas too: it gets a database of its own, alike.
  const loopDatabase = await createTestDatabase();
  // One small unmeasured round each, so neither side's first measured round pays for compiling and caching.
  const warmUp = { ...TRANSFERS, transfers: 80 };
  await measureSagaTransfers(url, warmUp);
  await measureDirectTransfers(loopDatabase.url, warmUp);
  const transfers = await compareInterleaved(
    `transfers end to end through the saga, ${String(TRANSFERS.transfers)} transfers, ${String(TRANSFERS.concurrency)} requested at once (baseline: the same commands run directly by a loop)`,
    'transfers/s',
    () => measureSagaTransfers(url, TRANSFERS),
    () => measureDirectTransfers(loopDatabase.url, TRANSFERS),
  ).finally(() => loopDatabase.drop());
  const lateness = await compareInterleaved(
    `timeout lateness p99, ${String(LATENESS.timeouts)} timeouts over ${String(LATENESS.spreadMs / 1000)} s, one sweep a second (baseline: a hand-written poller of a deadlines table)`,
    'ms',
    () => measureSagaLateness(url, LATENESS),
    () => measurePollerLateness(url, LATENESS),
  );
  return [
    { ...transfers, target: { on: 'ratio', min: 0.5 } },
    // At most one sweep interval plus a second.
    { ...lateness, target: { on: 'value', max: LATENESS.pollMs + 1_000 } },
  ];
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 90 s', run: runBenchmarks, format: formatReport });
