import type { Timing } from '../support/measureThroughput';

/** One operation whose duration is measured, e.g. a whole feed scan. */
export type Run = () => Promise<void>;

export interface AlternatedTimes {
  /** Milliseconds per run of each side, in the order they ran. */
  a: number[];
  b: number[];
}

async function timeRun(run: Run): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * Runs two sides alternately, one run at a time, swapping which side goes
 * first in every pair (a b, b a, a b ...). On a shared 2-core machine a burst
 * of outside load lasts seconds: blocks of seconds per side (compareInterleaved)
 * let a burst hit one side only, single runs spread it over both; the swap keeps
 * one side from always paying the garbage collection the other left behind.
 * (It lives here because bench/support is not ours to extend.)
 */
export async function alternateRuns(a: Run, b: Run, timing: Timing): Promise<AlternatedTimes> {
  const times: AlternatedTimes = { a: [], b: [] };
  let pair = 0;
  const runPairsUntil = async (deadline: number, record: boolean) => {
    do {
      const order = pair % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
      for (const side of order) {
        const ms = await timeRun(side === 'a' ? a : b);
        if (record) times[side].push(ms);
      }
      pair += 1;
    } while (performance.now() < deadline);
  };
  await runPairsUntil(performance.now() + timing.warmupMs, false);
  await runPairsUntil(performance.now() + timing.durationMs, true);
  return times;
}

/** The median: a run slowed by a burst of outside load moves it far less than it moves the mean. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? NaN) + upper) / 2;
}

/** How far the medians of a side's first and second half disagree (0.1 = 10 %), the larger of both sides. */
export function halvesSpread(times: AlternatedTimes): number {
  const spreadOf = (values: readonly number[]) => {
    const half = Math.floor(values.length / 2);
    const first = median(values.slice(0, half));
    const second = median(values.slice(half));
    return Math.abs(first - second) / ((first + second) / 2);
  };
  return Math.max(spreadOf(times.a), spreadOf(times.b));
}
