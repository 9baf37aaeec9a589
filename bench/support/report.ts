import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BenchResult } from './benchResult';
import { describeTarget, isTargetMet, type Measurement } from './targets';
import { alignColumns, noiseWarning } from './textTable';

export async function writeResults(path: string, results: readonly BenchResult[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}

const HEADER = ['name', 'value', 'unit', 'baseline', 'ratio', 'spread', 'target', 'met'];
// Numbers are right-aligned so their digits line up.
const RIGHT_ALIGNED = new Set(['value', 'baseline', 'ratio', 'spread']);

function metCell(measurement: Measurement): string {
  if (measurement.target === undefined) return '-';
  return isTargetMet(measurement) ? 'yes' : 'NO';
}

function toCells(measurement: Measurement): string[] {
  const { name, value, unit, baseline, ratio } = measurement.result;
  return [
    name,
    String(value),
    unit,
    String(baseline),
    ratio.toFixed(2),
    `${Math.round(measurement.spread * 100)}%`,
    describeTarget(measurement),
    metCell(measurement),
  ];
}

/** The results as an aligned text table, then a verdict on the targets and on the noise. */
export function formatReport(measurements: readonly Measurement[]): string {
  const lines = alignColumns(HEADER, measurements.map(toCells), RIGHT_ALIGNED);
  const targeted = measurements.filter((measurement) => measurement.target !== undefined);
  const missed = targeted.filter((measurement) => !isTargetMet(measurement)).length;
  lines.push('', missed === 0 ? 'All targets met.' : `${missed} of ${targeted.length} targets missed.`);
  lines.push(...noiseWarning(measurements.map((measurement) => measurement.spread)));
  return lines.join('\n');
}
