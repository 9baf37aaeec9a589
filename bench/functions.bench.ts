import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { promisify } from 'node:util';
import { service } from '../functions/service';
import { buildFunctions, bundleFunction } from '../scripts/buildFunctions';
import { alignColumns } from './support/textTable';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_PATH = path.join(root, 'bench/results/functions.json');
const IMPORT_TIME = path.join(root, 'bench/support/importTime.mjs');
const ROUNDS = 10;
const MAX_BYTES = 1024 * 1024;
const MAX_INIT_MS = 100;
// As in Lambda, as SST deploys the service: its X-Ray SDK loads at init only if the service turns X-Ray on.
const lambdaEnv = (xray: boolean) => ({ ...process.env, AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_LAMBDA_FUNCTION_NAME: 'bench', POWERTOOLS_TRACE_ENABLED: String(xray) });
// What X-Ray adds, measured on the heaviest function.
const XRAY_SAMPLE = 'functions/publisher.ts';

async function initMs(file: string, xray = service.xray): Promise<number> {
  const { stdout } = await run(process.execPath, [IMPORT_TIME, file], { env: lambdaEnv(xray) });
  return Number(stdout);
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

interface FunctionFigure {
  name: string;
  bytes: number;
  initMs: number;
  baselineInitMs: number;
  ratio: number;
  met: boolean;
}

/**
 * Each function bundled as SST bundles it, then imported in a fresh Node
 * process ten times (its cold init), interleaved with the baseline: an empty
 * middy handler with the same Powertools logger and metrics.
 */
async function main(): Promise<void> {
  const bundles = await buildFunctions(root);
  const baseline = await bundleFunction(root, 'bench/scenarios/emptyFunction.ts', path.join(root, '.build/baseline/emptyFunction.mjs'));
  const samples = new Map<string, number[]>([[baseline.file, []], ...bundles.map((bundle): [string, number[]] => [bundle.file, []])]);
  const xrayBundle = bundles.find((bundle) => bundle.entry === XRAY_SAMPLE);
  const xraySamples: number[] = [];
  for (let index = 0; index < ROUNDS; index += 1) {
    for (const [file, times] of samples) times.push(await initMs(file));
    if (xrayBundle) xraySamples.push(await initMs(xrayBundle.file, !service.xray));
  }
  const baselineInitMs = median(samples.get(baseline.file) ?? []);
  const figures: FunctionFigure[] = bundles.map((bundle) => {
    const init = median(samples.get(bundle.file) ?? []);
    return {
      name: bundle.entry,
      bytes: bundle.bytes,
      initMs: round(init),
      baselineInitMs: round(baselineInitMs),
      ratio: round(init / baselineInitMs, 2),
      met: bundle.bytes <= MAX_BYTES && init <= MAX_INIT_MS,
    };
  });
  const xrayInitMs = median(xraySamples);
  const otherTracing = { name: XRAY_SAMPLE, xray: !service.xray, initMs: round(xrayInitMs), ratio: round(xrayInitMs / baselineInitMs, 2) };
  const results = {
    node: process.versions.node,
    rounds: ROUNDS,
    xray: service.xray,
    baseline: { bytes: baseline.bytes, initMs: round(baselineInitMs) },
    functions: figures,
    otherTracing,
  };
  await mkdir(path.dirname(RESULTS_PATH), { recursive: true });
  await writeFile(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
  const header = ['function', 'KB', 'init ms', 'baseline ms', 'ratio', 'met'];
  const rows = figures.map((figure) => [
    figure.name,
    (figure.bytes / 1024).toFixed(0),
    figure.initMs.toFixed(1),
    figure.baselineInitMs.toFixed(1),
    figure.ratio.toFixed(2),
    figure.met ? 'yes' : 'NO',
  ]);
  rows.push(['(baseline bundle)', (baseline.bytes / 1024).toFixed(0), baselineInitMs.toFixed(1), '-', '-', '-']);
  console.log(alignColumns(header, rows, new Set(['KB', 'init ms', 'baseline ms', 'ratio'])).join('\n'));
  console.log(`\nWith X-Ray ${otherTracing.xray ? 'on' : 'off'} (the service has it ${service.xray ? 'on' : 'off'}), ${XRAY_SAMPLE} inits in ${otherTracing.initMs.toFixed(1)} ms (${otherTracing.ratio.toFixed(2)} times the baseline).`);
  console.log(`\nTargets: each bundle at most ${MAX_BYTES / 1024} KB and ${MAX_INIT_MS} ms of init (median of ${ROUNDS}, Node ${process.versions.node}).`);
  const missed = figures.filter((figure) => !figure.met).length;
  console.log(missed === 0 ? 'All targets met.' : `${missed} of ${figures.length} functions miss a target.`);
}

await main();
