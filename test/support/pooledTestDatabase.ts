import { afterAll, beforeAll } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createTestDatabase, type TestDatabase } from './testDatabase';

/**
 * A migrated database of the file's own with a pool of `max` connections on
 * it, made before the file's tests and closed and dropped after them. Call the
 * returned function inside a test for the pool.
 */
export function usePooledTestDatabase(max: number): () => Db {
  let database: TestDatabase | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createPgDb({ connectionString: database.url, max });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });
  return () => {
    if (!db) throw new Error('the test database is made before the tests run');
    return db;
  };
}
