import { startCpuSplit, type CpuPerUnit } from './cpuSplit';

/** Performs one operation and resolves to the number of units (events) it processed. */
export type Step = () => Promise<number>;

export interface Timing {
  /** Run, but not counted: fills connection pools, plan caches and shared buffers. */
  warmupMs: number;
  durationMs: number;
}

export interface ThroughputOptions extends Timing {
  concurrency: number;
  /** Called once per worker; a worker keeps its state (e.g. its stream version) across both phases. */
  createWorker(index: number): Step;
}

/** Units per second, and the CPU each unit cost while they were timed (where the machine tells). */
export interface Throughput {
  rate: number;
  cpu: CpuPerUnit | undefined;
}

/**
 * Runs `concurrency` workers in a closed loop and returns units per second.
 * Each worker runs at least one step per phase, so a slow step (a whole feed
 * scan) is still warmed up and measured; the phase ends when the last
 * in-flight step finishes, so elapsed time covers every counted unit.
 */
export async function measureThroughput(options: ThroughputOptions): Promise<number> {
  return (await measureThroughputAndCpu(options)).rate;
}

/** As `measureThroughput`, with the CPU per unit of the timed phase split between this process and the rest of the machine. */
export async function measureThroughputAndCpu(options: ThroughputOptions): Promise<Throughput> {
  const workers = Array.from({ length: options.concurrency }, (_, index) => options.createWorker(index));
  await runPhase(workers, options.warmupMs);
  const throughputSince = startThroughput();
  return throughputSince(await runPhase(workers, options.durationMs));
}

/** Starts timing some work; the returned function gives, for the units done since, their rate and CPU per unit. */
export function startThroughput(): (units: number) => Throughput {
  const started = performance.now();
  const cpuSince = startCpuSplit();
  return (units) => ({ rate: units / ((performance.now() - started) / 1000), cpu: cpuSince(units) });
}

async function runPhase(workers: readonly Step[], durationMs: number): Promise<number> {
  const deadline = performance.now() + durationMs;
  const counts = await Promise.all(workers.map((step) => runUntil(step, deadline)));
  return counts.reduce((total, count) => total + count, 0);
}

async function runUntil(step: Step, deadline: number): Promise<number> {
  let units = 0;
  do {
    units += await step();
  } while (performance.now() < deadline);
  return units;
}
