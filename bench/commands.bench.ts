/**
 * Deposit commands through the bus and through the local HTTP runtime (the
 * handlers Lambda runs), each beside the framework's own append of the same
 * event with no command around it (what the bus and the HTTP route add over the
 * store), in A-B-B-A rounds, on a fresh database that is dropped afterwards.
 * The bus, the store and the HTTP handler share the handlers' runtime and its
 * pool of 16 (DB_POOL_MAX, as the functions read it), so both sides of every
 * comparison have one connection per worker at concurrency 16. The HTTP load
 * comes from a worker thread, so the server's event loop runs only the server,
 * as it would in Lambda. Every round's events are counted against the
 * deposits acknowledged. Writes bench/results/commands.json.
 */
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './support/benchResult';
import { percentile, type LoopResult } from './support/closedLoop';
import { compareInterleaved } from './support/compareInterleaved';
import { withPlainPool } from './support/connections';
import { formatReport } from './support/report';
import { runBench } from './support/runBench';
import type { Measurement, Target } from './support/targets';
import { analyzeTables, bareAppends, busDeposits, checkDepositsWritten, httpDeposits, openAccounts, type LoopTiming, type RoundResult } from './scenarios/commandLoops';

const RESULTS_PATH = fileURLToPath(new URL('results/commands.json', import.meta.url));
const TIMING: LoopTiming = { warmupMs: 750, durationMs: 2_500 };
const CONCURRENCIES = [1, 16];
// One connection per worker at the highest concurrency, on both sides.
const POOL_SIZE = 16;
const BUS_TARGET: Target = { on: 'ratio', min: 0.6 };
const P99_TARGET: Target = { on: 'value', max: 25 };
const P99_TARGET_AT = 16;
const BASELINE = "the store's own append of the same event";

const round2 = (value: number) => Math.round(value * 100) / 100;

const relativeDifference = (a: number, b: number) => Math.abs(a - b) / ((a + b) / 2);

/** A latency percentile of both rounds of each side together, with how far each side's two rounds disagreed. */
function latency(name: string, fraction: number, framework: readonly LoopResult[], baseline: readonly LoopResult[]): Measurement {
  const pooled = (rounds: readonly LoopResult[]) => percentile(rounds.flatMap((round) => round.latenciesMs), fraction);
  const roundsSpread = (rounds: readonly LoopResult[]) => {
    const [first, second] = rounds.map((round) => percentile(round.latenciesMs, fraction));
    return first === undefined || second === undefined ? 0 : relativeDifference(first, second);
  };
  const value = pooled(framework);
  const base = pooled(baseline);
  const result: BenchResult = { name, value: round2(value), unit: 'ms', baseline: round2(base), ratio: round2(value / base) };
  return { result, spread: Math.max(roundsSpread(framework), roundsSpread(baseline)) };
}

async function runBenchmarks(url: string): Promise<Measurement[]> {
  process.env.DATABASE_URL = url;
  process.env.DB_POOL_MAX = String(POOL_SIZE);
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // Imported after the environment is set: the handlers read it when they first start.
  const { getRuntime, runtimeLoader } = await import('../functions/runtime');
  const { account, bankService } = await import('../core/bank');
  const { handler } = await import('../functions/http/postCommand');
  const { startLocalServer } = await import('../functions/local');
  // Migrated by a runtime of its own; then one runtime, the HTTP handler's, serves every side.
  const migrating = await runtimeLoader(bankService, { migrate: true })();
  await migrating.db.close();
  const app = await getRuntime();
  const server = await startLocalServer({ port: 0, routes: [{ method: 'POST', path: '/commands/{command}', handler }] });
  const accountStreams = (ids: readonly string[]) => ids.map((id) => account.streamId(id));

  /** A round: fresh statistics first, then the loop, then its check; its result is kept for the latency rows. */
  const round = async (label: string, kept: RoundResult[], run: () => Promise<{ result: RoundResult; streamIds: readonly string[] }>) => {
    await withPlainPool(url, 1, analyzeTables);
    const { result, streamIds } = await run();
    await withPlainPool(url, 1, (pool) => checkDepositsWritten(pool, streamIds, result.acknowledged, label));
    console.error(`  ${label}: ${String(Math.round(result.perSecond))}/s, ${String(result.acknowledged)} acknowledged and written`);
    kept.push(result);
    return result.perSecond;
  };
  const bareRound = (concurrency: number, kept: RoundResult[]) => (index: number) =>
    round(`bare appends round ${String(index)}, concurrency ${String(concurrency)}`, kept, async () => {
      const result = await bareAppends(app.store, concurrency, TIMING);
      return { result, streamIds: result.streamIds };
    });
  /** Deposits through one side, A-B-B-A beside bare appends, each round on its own accounts; both sides' rounds kept. */
  const againstBareAppends = async (
    side: string,
    at: string,
    concurrency: number,
    accountSets: readonly string[][],
    deposit: (accounts: readonly string[]) => Promise<RoundResult>,
  ) => {
    const rounds: RoundResult[] = [];
    const bareRounds: RoundResult[] = [];
    const comparison = await compareInterleaved(
      `${side} commands/s, ${at} (baseline: ${BASELINE})`,
      'commands/s',
      (index) => {
        const accounts = accountSets[index - 1] ?? [];
        return round(`${side} round ${String(index)}, ${at}`, rounds, async () => ({ result: await deposit(accounts), streamIds: accountStreams(accounts) }));
      },
      bareRound(concurrency, bareRounds),
    );
    return { comparison, rounds, bareRounds };
  };

  const measurements: Measurement[] = [];
  try {
    for (const concurrency of CONCURRENCIES) {
      const at = `concurrency ${String(concurrency)}`;
      // Every round's accounts opened before any is timed: a round writes to its own.
      const busAccounts = [await openAccounts(app.bus, concurrency), await openAccounts(app.bus, concurrency)];
      const httpAccounts = [await openAccounts(app.bus, concurrency), await openAccounts(app.bus, concurrency)];

      const bus = await againstBareAppends('bus', at, concurrency, busAccounts, (accounts) => busDeposits(app.bus, accounts, concurrency, TIMING));
      measurements.push({ ...bus.comparison, target: BUS_TARGET });
      const http = await againstBareAppends('HTTP', at, concurrency, httpAccounts, (accounts) => httpDeposits(server.url, accounts, concurrency, TIMING));
      measurements.push(
        http.comparison,
        latency(`HTTP p50 latency, ${at} (baseline: the append's p50)`, 0.5, http.rounds, http.bareRounds),
        {
          ...latency(`HTTP p99 latency, ${at} (baseline: the append's p99)`, 0.99, http.rounds, http.bareRounds),
          ...(concurrency === P99_TARGET_AT ? { target: P99_TARGET } : {}),
        },
      );
      console.error(`  done: ${at}`);
    }
  } finally {
    await server.close();
    await app.db.close();
  }
  return measurements;
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 65 s', run: runBenchmarks, format: formatReport });
