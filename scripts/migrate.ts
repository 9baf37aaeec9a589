import { createDb, dbConfigFromEnv } from '../core/db';
import { migrateService } from '../core/service';
import { service } from '../functions/service';

/** Where a connection string points, without its credentials. */
function describeDatabase(url: string, driver: string, pgliteDir: string): string {
  if (driver === 'pglite') return `embedded PGlite in ${pgliteDir}`;
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

const config = dbConfigFromEnv();
const where = describeDatabase(config.DATABASE_URL, config.DB_DRIVER, config.PGLITE_DATA_DIR);
const db = createDb({ ...config, DB_POOL_MAX: 1 });
try {
  const applied = await migrateService(db, service);
  const list = (names: readonly string[]) => (names.length > 0 ? names.join(', ') : 'none pending');
  console.log(`migrated ${where}`);
  console.log(`  framework: ${list(applied.framework)}`);
  if (service.migrations) console.log(`  service ${service.name}: ${list(applied.service)}`);
} catch (error) {
  // One line: the reason, not a stack trace (the connection refused, a checksum changed...).
  console.error(`could not migrate ${where}: ${error instanceof Error ? error.message || error.name : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.close().catch(() => undefined);
}
