import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BenchResult } from './benchResult';
import type { CpuPerUnit } from './cpuSplit';
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

const CPU_HEADER = ['name', 'process', 'rest', 'total', 'baseline process', 'baseline rest', 'baseline total'];
const CPU_RIGHT_ALIGNED = new Set(CPU_HEADER.slice(1));

/** Where both sides' CPU was counted: what a unit of work cost each, in this process and in the rest of the machine. */
function cpuLines(measurements: readonly Measurement[]): string[] {
  const rows = measurements.flatMap(({ result }) => {
    if (!result.cpu) return [];
    const { framework, baseline } = result.cpu;
    const side = ({ processUs, restOfMachineUs }: CpuPerUnit) => [processUs, restOfMachineUs, processUs + restOfMachineUs].map((us) => us.toFixed(0));
    return [[result.name, ...side(framework), ...side(baseline)]];
  });
  if (rows.length === 0) return [];
  return [
    '',
    'CPU per unit of work while timed, in µs: this Node process, and the rest of the machine (PostgreSQL, the kernel, anything else).',
    ...alignColumns(CPU_HEADER, rows, CPU_RIGHT_ALIGNED),
  ];
}

/** The results as an aligned text table, then a verdict on the targets and on the noise. */
export function formatReport(measurements: readonly Measurement[]): string {
  const lines = alignColumns(HEADER, measurements.map(toCells), RIGHT_ALIGNED);
  lines.push(...cpuLines(measurements));
  const targeted = measurements.filter((measurement) => measurement.target !== undefined);
  const missed = targeted.filter((measurement) => !isTargetMet(measurement)).length;
  lines.push('', missed === 0 ? 'All targets met.' : `${missed} of ${targeted.length} targets missed.`);
  lines.push(...noiseWarning(measurements.map((measurement) => measurement.spread)));
  return lines.join('\n');
}
