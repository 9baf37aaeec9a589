import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, Queryable } from './Db';

export const DEFAULT_MIGRATIONS_DIRECTORY = fileURLToPath(new URL('../../migrations', import.meta.url));

/** One 64-bit advisory lock key for every migrator of every process. */
const MIGRATION_LOCK_KEY = 727_365_001;

const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.sql$/;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationChecksumError extends Error {
  constructor(readonly migration: string) {
    super(`Migration ${migration} was changed after it was applied; add a new migration instead`);
    this.name = 'MigrationChecksumError';
  }
}

export async function loadMigrations(directory: string): Promise<Migration[]> {
  const names = (await readdir(directory)).filter((name) => MIGRATION_FILE.test(name)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Applies pending migrations in name order, each in its own transaction under
 * a transaction-scoped advisory lock, so concurrent cold starts apply each file
 * once and re-running is a no-op. Returns the names it applied.
 */
export async function migrate(db: Db, options: { directory?: string } = {}): Promise<string[]> {
  const migrations = await loadMigrations(options.directory ?? DEFAULT_MIGRATIONS_DIRECTORY);
  const applied: string[] = [];
  for (const migration of migrations) {
    const didApply = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await ensureMigrationsTable(tx);
      const recorded = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migrations WHERE name = $1',
        [migration.name],
      );
      const existing = recorded.rows[0];
      if (existing) {
        if (existing.checksum !== migration.checksum) throw new MigrationChecksumError(migration.name);
        return false;
      }
      await tx.query(migration.sql);
      await tx.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [
        migration.name,
        migration.checksum,
      ]);
      return true;
    });
    if (didApply) applied.push(migration.name);
  }
  return applied;
}

async function ensureMigrationsTable(tx: Queryable): Promise<void> {
  await tx.query(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
}
