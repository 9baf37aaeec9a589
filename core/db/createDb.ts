import type { Db } from './Db';
import type { DbConfig } from './config';
import { lazyDb } from './lazyDb';
import { createPgliteDb } from './pglite';
import { createPgDb } from './pgDb';

/** Builds the adapter named by `DB_DRIVER`. */
export function createDb(config: DbConfig): Db {
  switch (config.DB_DRIVER) {
    case 'pg':
      return createPgDb({ connectionString: config.DATABASE_URL, max: config.DB_POOL_MAX });
    case 'neon':
      return lazyDb(async () => (await import('./neonDb')).createNeonDb({ connectionString: config.DATABASE_URL, max: config.DB_POOL_MAX }));
    case 'pglite':
      return createPgliteDb({ dataDir: config.PGLITE_DATA_DIR });
  }
}
