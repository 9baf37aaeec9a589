import type { Db } from './Db';
import { migrate } from './migrate';

const runs = new WeakMap<Db, Promise<string[]>>();

/**
 * Migrates once per process and database handle: call it at the top of a
 * handler; warm invocations reuse the first run. A failed run is forgotten so
 * the next invocation tries again.
 */
export function migrateOnColdStart(db: Db, options: { directory?: string } = {}): Promise<string[]> {
  const existing = runs.get(db);
  if (existing) return existing;
  const run = migrate(db, options);
  runs.set(db, run);
  run.catch(() => runs.delete(db));
  return run;
}
