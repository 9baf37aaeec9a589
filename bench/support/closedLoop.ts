/** Throughput and every operation's latency from a closed loop of `concurrency` workers. */
export interface LoopResult {
  perSecond: number;
  latenciesMs: number[];
}

/**
 * Runs workers that each repeat their operation until the deadline, after a
 * warm-up that is not counted; one worker per connection, as real clients are.
 */
export async function runClosedLoop(options: {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  createWorker: (index: number) => () => Promise<void>;
}): Promise<LoopResult> {
  const workers = Array.from({ length: options.concurrency }, (_, index) => options.createWorker(index));
  const phase = async (durationMs: number, latenciesMs: number[]) => {
    const deadline = performance.now() + durationMs;
    await Promise.all(
      workers.map(async (operation) => {
        while (performance.now() < deadline) {
          const started = performance.now();
          await operation();
          latenciesMs.push(performance.now() - started);
        }
      }),
    );
  };
  await phase(options.warmupMs, []);
  const latenciesMs: number[] = [];
  const started = performance.now();
  await phase(options.durationMs, latenciesMs);
  return { perSecond: latenciesMs.length / ((performance.now() - started) / 1000), latenciesMs };
}

export function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}
