import type { BenchResult } from './benchResult';
import { alignColumns, noiseWarning } from './textTable';

/**
 * The aggregate benchmark mixes rates (higher is better) with load times
 * (lower is better), so unlike targets.ts a target here is a floor or a
 * ceiling on the ratio to the row's baseline, and some rows have none.
 */
export type RatioTarget = { atLeast: number } | { atMost: number };

export type Better = 'higher' | 'lower';

export interface AggregateMeasurement {
  result: BenchResult;
  better: Better;
  /** How far the row's (or its baseline's) two rounds disagreed (0.1 = 10 %). */
  spread: number;
  target?: RatioTarget;
}

// A bound such as 1 / 1.3 is compared exactly but shown to two decimals, like the ratios.
const shown = (bound: number) => String(Math.round(bound * 100) / 100);

export function describeRatioTarget(target: RatioTarget | undefined): string {
  if (target === undefined) return '-';
  return 'atLeast' in target ? `ratio >= ${shown(target.atLeast)}` : `ratio <= ${shown(target.atMost)}`;
}

export function isRatioTargetMet(measurement: AggregateMeasurement): boolean {
  const { target, result } = measurement;
  if (target === undefined) return true;
  return 'atLeast' in target ? result.ratio >= target.atLeast : result.ratio <= target.atMost;
}

const HEADER = ['name', 'value', 'unit', 'better', 'baseline', 'ratio', 'spread', 'target', 'met'];
// Numbers are right-aligned so their digits line up.
const RIGHT_ALIGNED = new Set(['value', 'baseline', 'ratio', 'spread']);

function metCell(measurement: AggregateMeasurement): string {
  if (measurement.target === undefined) return '-';
  return isRatioTargetMet(measurement) ? 'yes' : 'NO';
}

function toCells(measurement: AggregateMeasurement): string[] {
  const { name, value, unit, baseline, ratio } = measurement.result;
  return [
    name,
    String(value),
    unit,
    measurement.better,
    String(baseline),
    ratio.toFixed(2),
    `${Math.round(measurement.spread * 100)}%`,
    describeRatioTarget(measurement.target),
    metCell(measurement),
  ];
}

/** The results as an aligned text table, then a verdict on the targets and on the noise. */
export function formatAggregateReport(measurements: readonly AggregateMeasurement[]): string {
  const lines = alignColumns(HEADER, measurements.map(toCells), RIGHT_ALIGNED);
  const targeted = measurements.filter((measurement) => measurement.target !== undefined);
  const missed = targeted.filter((measurement) => !isRatioTargetMet(measurement)).length;
  lines.push(
    '',
    'ratio = value / baseline; "better" says which direction is good for the row (load times: lower is better).',
    missed === 0 ? 'All targets met.' : `${missed} of ${targeted.length} targets missed.`,
  );
  lines.push(...noiseWarning(measurements.map((measurement) => measurement.spread)));
  return lines.join('\n');
}
