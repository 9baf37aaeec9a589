import { benchResult, type BenchResult } from './benchResult';

/** Measures one side's rate in a numbered round (1 or 2); a round uses its own streams. */
export type MeasureRound = (round: number) => Promise<number>;

export interface Comparison {
  result: BenchResult;
  /** How far a side's two rounds disagreed (0.1 = 10 %); large values mean outside interference. */
  spread: number;
}

/**
 * Measures the event store and its baseline in A-B-B-A order and averages
 * each side, so a slow drift (the tables growing, a checkpoint, another
 * process on this 2-core machine) weighs on both sides alike.
 */
export async function compareInterleaved(
  name: string,
  unit: string,
  measureStore: MeasureRound,
  measureBaseline: MeasureRound,
): Promise<Comparison> {
  const store1 = await measureStore(1);
  const baseline1 = await measureBaseline(1);
  const baseline2 = await measureBaseline(2);
  const store2 = await measureStore(2);
  return {
    result: benchResult(name, unit, (store1 + store2) / 2, (baseline1 + baseline2) / 2),
    spread: Math.max(relativeDifference(store1, store2), relativeDifference(baseline1, baseline2)),
  };
}

function relativeDifference(a: number, b: number): number {
  return Math.abs(a - b) / ((a + b) / 2);
}
