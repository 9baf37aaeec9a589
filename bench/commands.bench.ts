/**
 * Commands through the local HTTP runtime (the handlers Lambda runs) and
 * through the bus, beside bare appends of the same events, on a fresh database
 * that is dropped afterwards. The HTTP load comes from a worker thread, so the
 * server's event loop runs only the server, as it would in Lambda. Writes
 * bench/results/commands.json.
 */
import { fileURLToPath } from 'node:url';
import { benchResult, type BenchResult } from './support/benchResult';
import { percentile } from './support/closedLoop';
import { runBench } from './support/runBench';
import { alignColumns } from './support/textTable';
import { bareAppends, busDeposits, httpDeposits, openAccounts, type LoopTiming } from './scenarios/commandLoops';

const RESULTS_PATH = fileURLToPath(new URL('results/commands.json', import.meta.url));
const TIMING: LoopTiming = { warmupMs: 1_000, durationMs: 4_000 };
const P99_TARGET_MS = 25;
const BUS_TARGET_RATIO = 0.6;

interface Row {
  result: BenchResult;
  target?: string;
  met?: boolean;
}

const ms = (name: string, value: number, baseline: number): BenchResult => ({
  name,
  value: Math.round(value * 100) / 100,
  unit: 'ms',
  baseline: Math.round(baseline * 100) / 100,
  ratio: Math.round((value / baseline) * 100) / 100,
});

async function runBenchmarks(url: string): Promise<Row[]> {
  process.env.DATABASE_URL = url;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  // Imported after the environment is set: the handlers read it when they first start.
  const { runtimeLoader } = await import('../functions/runtime');
  const { bankService } = await import('../core/bank');
  const { handler } = await import('../functions/http/postCommand');
  const { startLocalServer } = await import('../functions/local');
  const app = await runtimeLoader(bankService, { migrate: true })();
  const server = await startLocalServer({ port: 0, routes: [{ method: 'POST', path: '/commands/{command}', handler }] });
  const rows: Row[] = [];
  try {
    for (const concurrency of [1, 16]) {
      const accounts = await openAccounts(app.bus, concurrency);
      const bare = await bareAppends(app.store, concurrency, TIMING);
      const bus = await busDeposits(app.bus, accounts, concurrency, TIMING);
      const http = await httpDeposits(server.url, accounts, concurrency, TIMING);
      const at = `concurrency ${concurrency}`;
      const p99 = percentile(http.latenciesMs, 0.99);
      const busRatio = bus.perSecond / bare.perSecond;
      rows.push(
        { result: benchResult(`HTTP commands/s, ${at} (baseline: bare appends)`, 'commands/s', http.perSecond, bare.perSecond) },
        { result: ms(`HTTP p50 latency, ${at} (baseline: bare append p50)`, percentile(http.latenciesMs, 0.5), percentile(bare.latenciesMs, 0.5)) },
        {
          result: ms(`HTTP p99 latency, ${at} (baseline: bare append p99)`, p99, percentile(bare.latenciesMs, 0.99)),
          ...(concurrency === 16 ? { target: `< ${P99_TARGET_MS} ms`, met: p99 < P99_TARGET_MS } : {}),
        },
        {
          result: benchResult(`bus commands/s, ${at} (baseline: bare appends)`, 'commands/s', bus.perSecond, bare.perSecond),
          target: `ratio >= ${BUS_TARGET_RATIO}`,
          met: busRatio >= BUS_TARGET_RATIO,
        },
      );
      console.error(`  done: ${at}`);
    }
  } finally {
    await server.close();
    await app.db.close();
  }
  return rows;
}

function format(rows: readonly Row[]): string {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'target', 'met'];
  const cells = rows.map(({ result, target, met }) => [
    result.name,
    String(result.value),
    result.unit,
    String(result.baseline),
    result.ratio.toFixed(2),
    target ?? '-',
    met === undefined ? '-' : met ? 'yes' : 'NO',
  ]);
  const missed = rows.filter((row) => row.met === false).length;
  return [
    ...alignColumns(header, cells, new Set(['value', 'baseline', 'ratio'])),
    '',
    missed === 0 ? 'All targets met.' : `${missed} targets missed.`,
  ].join('\n');
}

runBench({ resultsPath: RESULTS_PATH, expected: 'about 30 s', run: runBenchmarks, format });
