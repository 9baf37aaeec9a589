import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DATABASE_URL } from '../../core/db';
import { createTestDatabase, dropIfFails } from './testDatabase';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('test databases', () => {
  it('are dropped when building on them fails (a service down), and the failure goes on', async () => {
    const database = await createTestDatabase({ migrated: false });
    expect(await databaseExists(database.name)).toBe(true);
    await expect(dropIfFails(database, () => Promise.reject(new Error('NATS is not reachable')))).rejects.toThrow('NATS is not reachable');
    expect(await databaseExists(database.name)).toBe(false);
  });

  it('are kept when building on them succeeds, until dropped', async () => {
    const database = await createTestDatabase({ migrated: false });
    expect(await dropIfFails(database, () => Promise.resolve('built'))).toBe('built');
    expect(await databaseExists(database.name)).toBe(true);
    await database.drop();
    expect(await databaseExists(database.name)).toBe(false);
  });
});
