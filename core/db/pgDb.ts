import pg from 'pg';
import type { Db } from './Db';
import { poolDb } from './poolDb';

export interface PgDbOptions {
  connectionString: string;
  /** Pool size; keep it small on Lambda, where each instance holds its own pool. */
  max?: number;
  idleTimeoutMillis?: number;
  /** Prepare hot statements once per connection (default true); turn off behind a transaction-mode pooler. */
  preparedStatements?: boolean;
}

/** The `Db` port on node-postgres, over TCP. */
export function createPgDb(options: PgDbOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return poolDb(pool, { preparedStatements: options.preparedStatements ?? true });
}
