import { createDb, dbConfigFromEnv, type DbConfig } from '../../core/db';
import { migrateService, type Service } from '../../core/service';

/** Where a connection string points, without its credentials. */
export function describeDatabase(config: DbConfig): string {
  if (config.DB_DRIVER === 'pglite') return `embedded PGlite in ${config.PGLITE_DATA_DIR}`;
  try {
    const parsed = new URL(config.DATABASE_URL);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

/** Applies the framework's pending migrations, then the service's, and says where and which. */
export async function migrateCommand(service: Service, json: boolean): Promise<void> {
  const config = dbConfigFromEnv();
  const where = describeDatabase(config);
  const db = createDb({ ...config, DB_POOL_MAX: 1 });
  try {
    const applied = await migrateService(db, service);
    const list = (names: readonly string[]) => (names.length > 0 ? names.join(', ') : 'none pending');
    const lines = [`migrated ${where}`, `  framework: ${list(applied.framework)}`, ...(service.migrations ? [`  service ${service.name}: ${list(applied.service)}`] : [])];
    process.stdout.write(`${json ? JSON.stringify({ database: where, ...applied }) : lines.join('\n')}\n`);
  } catch (error) {
    throw new Error(`could not migrate ${where}: ${error instanceof Error ? error.message || error.name : String(error)}`, { cause: error });
  } finally {
    await db.close().catch(() => undefined);
  }
}
