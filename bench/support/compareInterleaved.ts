import { benchResult, type BenchResult } from './benchResult';
import { collectGarbage } from './collectGarbage';
import { meanCpu } from './cpuSplit';
import type { Throughput } from './measureThroughput';

/** Measures one side's rate in a numbered round (1 or 2); a round uses its own streams. */
export type MeasureRound = (round: number) => Promise<number | Throughput>;

export interface Comparison {
  result: BenchResult;
  /** How far a side's two rounds disagreed (0.1 = 10 %); large values mean outside interference. */
  spread: number;
  /** The ratio before rounding, which a target is held to: a rounded 0.85 may be 0.845. */
  exactRatio?: number;
}

const asThroughput = (measured: number | Throughput): Throughput =>
  typeof measured === 'number' ? { rate: measured, cpu: undefined } : measured;

/**
 * Measures the event store and its baseline in A-B-B-A order and averages
 * each side, so a slow drift (the tables growing, a checkpoint, another
 * process on this 2-core machine) weighs on both sides alike. Each round
 * starts from a full garbage collection. Where every round told its CPU per
 * unit, the result carries both sides' means.
 */
export async function compareInterleaved(
  name: string,
  unit: string,
  measureStore: MeasureRound,
  measureBaseline: MeasureRound,
): Promise<Comparison> {
  const measured = async (measure: MeasureRound, round: number) => {
    collectGarbage();
    return asThroughput(await measure(round));
  };
  const store1 = await measured(measureStore, 1);
  const baseline1 = await measured(measureBaseline, 1);
  const baseline2 = await measured(measureBaseline, 2);
  const store2 = await measured(measureStore, 2);
  const [storeRate, baselineRate] = [(store1.rate + store2.rate) / 2, (baseline1.rate + baseline2.rate) / 2];
  const result = benchResult(name, unit, storeRate, baselineRate);
  const storeCpu = meanCpu([store1.cpu, store2.cpu]);
  const baselineCpu = meanCpu([baseline1.cpu, baseline2.cpu]);
  return {
    result: storeCpu && baselineCpu ? { ...result, cpu: { framework: storeCpu, baseline: baselineCpu } } : result,
    spread: Math.max(relativeDifference(store1.rate, store2.rate), relativeDifference(baseline1.rate, baseline2.rate)),
    exactRatio: storeRate / baselineRate,
  };
}

function relativeDifference(a: number, b: number): number {
  return Math.abs(a - b) / ((a + b) / 2);
}
