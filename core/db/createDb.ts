import type { DatabaseBounds } from './DatabaseBounds';
import type { Db } from './Db';
import type { DbConfig } from './config';
import { lazyDb } from './lazyDb';
import { createPgliteDb } from './pglite';
import { createPgDb } from './pgDb';

const boundsOf = (config: DbConfig): DatabaseBounds => ({ connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS, queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS });

/** Builds the adapter named by `DB_DRIVER`; PGlite runs in the process, with nothing to wait for. */
export function createDb(config: DbConfig): Db {
  switch (config.DB_DRIVER) {
    case 'pg':
      return createPgDb({ connectionString: config.DATABASE_URL, max: config.DB_POOL_MAX, ...boundsOf(config) });
    case 'neon':
      return lazyDb(async () => (await import('./neonDb')).createNeonDb({ connectionString: config.DATABASE_URL, max: config.DB_POOL_MAX, ...boundsOf(config) }));
    case 'pglite':
      return createPgliteDb({ dataDir: config.PGLITE_DATA_DIR });
  }
}
