import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPgDb, DEFAULT_DATABASE_URL, migrate } from '../../core/db';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

// Read once: a test may point DATABASE_URL at its own database for the code under test.
const SERVER_URL = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
const serverUrl = () => SERVER_URL;

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs what a fixture builds on a database made for it (migrations, a NATS
 * connection...). If that fails, say because a service is down, the database
 * is dropped before the failure goes on: a file that cannot start leaves no
 * database behind, since its fixture never gets to close.
 */
export async function dropIfFails<T>(database: TestDatabase, build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (error) {
    // The build's failure is the one worth reporting, even if the server is too far gone to drop.
    await database.drop().catch(() => undefined);
    throw error;
  }
}

async function migrateDatabase(url: string): Promise<void> {
  const db = createPgDb({ connectionString: url, max: 1 });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
}

/**
 * Creates a fresh database for one test file, so files can run in parallel and
 * in any order. With `migrated` (the default) the project's migrations are applied.
 */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE ${name} TEMPLATE template0`));
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  const database: TestDatabase = {
    name,
    url: url.toString(),
    drop: () => withAdminClient(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }),
  };
  if (options.migrated ?? true) await dropIfFails(database, () => migrateDatabase(database.url));
  return database;
}
