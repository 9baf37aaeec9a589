import type { CpuPerUnit } from './cpuSplit';

/** One line of `bench/results/eventstore.json`. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  /** value / baseline: above 1 the event store is faster than the hand-written SQL. */
  ratio: number;
  /** Where measured: the CPU per unit of work on each side, in microseconds. */
  cpu?: { framework: CpuPerUnit; baseline: CpuPerUnit };
  /** Where measured in two rounds a side: how far one side's rounds disagreed (0.12 is 12%), kept so a quoted figure's noise can be checked. */
  spread?: number;
}

export function benchResult(name: string, unit: string, value: number, baseline: number): BenchResult {
  return {
    name,
    value: Math.round(value),
    unit,
    baseline: Math.round(baseline),
    // From the unrounded rates, so a small rate's ratio is not skewed by rounding.
    ratio: Math.round((value / baseline) * 100) / 100,
  };
}
