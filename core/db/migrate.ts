import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, Queryable } from './Db';
import { OWN_STATEMENTS_IDLE_MS } from './ownStatementsIdle';

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

/**
 * Whose migrations these are: the framework's (tracked in schema_migrations)
 * or a service's (tracked in service_migrations under its name), so a service
 * file may share a name with a framework file.
 */
export type MigrationScope = { kind: 'framework' } | { kind: 'service'; service: string };

export const FRAMEWORK: MigrationScope = { kind: 'framework' };

export async function loadMigrations(directory: string): Promise<Migration[]> {
  const names = (await readdir(directory)).filter((name) => MIGRATION_FILE.test(name)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

// Both tracking tables are made by whichever migrator runs first, under the lock.
const TRACKING_TABLES_SQL = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS service_migrations (
    service text NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, name)
  )`;

const trackingOf = (scope: MigrationScope) =>
  scope.kind === 'framework'
    ? { select: 'SELECT name, checksum FROM schema_migrations', insert: 'INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', params: [] as string[] }
    : {
        select: 'SELECT name, checksum FROM service_migrations WHERE service = $1',
        insert: 'INSERT INTO service_migrations (service, name, checksum) VALUES ($3, $1, $2)',
        params: [scope.service],
      };

/** The migrations of a scope already applied, by name, with their checksums; empty before any migrator ran. */
export async function appliedMigrations(db: Queryable, scope: MigrationScope = FRAMEWORK): Promise<Map<string, string>> {
  const { rows: present } = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AND to_regclass('service_migrations') IS NOT NULL AS present",
  );
  if (!present[0]?.present) return new Map();
  const tracking = trackingOf(scope);
  const { rows } = await db.query<{ name: string; checksum: string }>(tracking.select, tracking.params);
  return new Map(rows.map((row) => [row.name, row.checksum]));
}

/**
 * Applies pending migrations in name order, each in its own transaction under
 * a transaction-scoped advisory lock, so concurrent migrators apply each file
 * once and re-running is a no-op. Returns the names it applied.
 */
export async function migrate(db: Db, options: { directory?: string; scope?: MigrationScope } = {}): Promise<string[]> {
  const migrations = await loadMigrations(options.directory ?? DEFAULT_MIGRATIONS_DIRECTORY);
  const tracking = trackingOf(options.scope ?? FRAMEWORK);
  const applied: string[] = [];
  for (const migration of migrations) {
    // Idle-bounded: a migrator frozen mid-way would hold the migration's locks (an ALTER TABLE's
    // on the events) for as long as its connection lived. The bound counts only the time between
    // statements, never a migration's own, however long.
    const didApply = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await tx.query(TRACKING_TABLES_SQL);
      const recorded = await tx.query<{ name: string; checksum: string }>(
        `${tracking.select} ${tracking.params.length > 0 ? 'AND' : 'WHERE'} name = $${tracking.params.length + 1}`,
        [...tracking.params, migration.name],
      );
      const existing = recorded.rows[0];
      if (existing) {
        if (existing.checksum !== migration.checksum) throw new MigrationChecksumError(migration.name);
        return false;
      }
      await tx.query(migration.sql);
      await tx.query(tracking.insert, [migration.name, migration.checksum, ...tracking.params]);
      return true;
    }, { idleTimeoutMs: OWN_STATEMENTS_IDLE_MS });
    if (didApply) applied.push(migration.name);
  }
  return applied;
}
