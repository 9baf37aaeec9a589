import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { createPgDb, type Db } from '../../core/db';
import { runtimeLoader } from '../../functions/runtime';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
let watcher: Db;
beforeAll(async () => {
  database = await createTestDatabase();
  watcher = createPgDb({ connectionString: database.url, max: 1 });
});
afterAll(async () => {
  await watcher.close();
  await database.drop();
});

/** Connections to the spec's database besides the watcher's own. */
async function othersConnected(): Promise<number> {
  const { rows } = await watcher.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return rows[0]?.count ?? 0;
}

describe("a function's cold start", () => {
  it('given a publishing setting no start can take, fails every invocation naming it, and leaves no connection open', async () => {
    const getRuntime = runtimeLoader(bankService, { env: { DATABASE_URL: database.url, DB_POOL_MAX: '2', PUBLISH_PARTITIONS: '0' }, migrate: true });

    for (let invocation = 0; invocation < 5; invocation++) {
      await expect(getRuntime()).rejects.toThrow(/PUBLISH_PARTITIONS/);
    }

    expect(await othersConnected()).toBe(0);
  });
});
