import { createTestDatabase } from '../../test/support/testDatabase';
import type { BenchResult } from './benchResult';
import { writeResults } from './report';

/** What a benchmark measured: its result, and for an interleaved comparison how far its rounds disagreed. */
interface Measured {
  result: BenchResult;
  spread?: number;
}

/** The result as saved, with its spread where it has one. */
const saved = ({ result, spread }: Measured): BenchResult => (spread === undefined ? result : { ...result, spread: Math.round(spread * 100) / 100 });

export interface BenchPlan<M extends Measured> {
  resultsPath: string;
  /** Roughly how long the run takes, shown before it starts. */
  expected: string;
  run(databaseUrl: string): Promise<M[]>;
  format(measurements: readonly M[]): string;
}

/**
 * Runs a benchmark on a fresh database that is dropped afterwards (also on
 * Ctrl-C), writes its results file and prints its table.
 */
export function runBench<M extends Measured>(plan: BenchPlan<M>): void {
  const main = async () => {
    const database = await createTestDatabase();
    const dropAndExit = () => {
      void database.drop().finally(() => process.exit(130));
    };
    process.once('SIGINT', dropAndExit);
    try {
      console.error(`benchmarking on ${database.name} (${plan.expected})`);
      const measurements = await plan.run(database.url);
      await writeResults(plan.resultsPath, measurements.map(saved));
      console.log(plan.format(measurements));
    } finally {
      process.off('SIGINT', dropAndExit);
      await database.drop();
    }
  };
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
