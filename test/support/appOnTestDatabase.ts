import { afterAll, beforeAll } from 'vitest';
import { getRuntime } from '../../functions/runtime';
import { createTestDatabase, type TestDatabase } from './testDatabase';

/**
 * For specs that call the Lambda handlers: points the handlers' shared app (built
 * from the environment on first use) at a database of this file's own, with any
 * other variables given (undefined removes one; given as a function, read when
 * the suite starts), and afterwards closes the app's
 * pool and drops the database. Returns the database once the suite has started.
 */
export function useAppOnTestDatabase(
  options: { migrated?: boolean; env?: Record<string, string | undefined> | (() => Record<string, string | undefined>) } = {},
): () => TestDatabase {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(options.migrated === undefined ? {} : { migrated: options.migrated });
    process.env.DATABASE_URL = database.url;
    // A function is read here, once the file's other services (a NATS server of its own) have started.
    const env = typeof options.env === 'function' ? options.env() : (options.env ?? {});
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  });
  afterAll(async () => {
    try {
      await (await getRuntime()).db.close();
    } finally {
      // Also when the app never started (its database refused a migration, say).
      await database?.drop();
    }
  });
  return () => {
    if (!database) throw new Error('the test database is made in beforeAll');
    return database;
  };
}
