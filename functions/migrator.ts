import { createDb, dbConfigFromEnv } from '../core/db';
import { log } from '../core/observability';
import { migrateService, migrationDirectoriesFromEnv, type AppliedMigrations } from '../core/service';
import { linkedSecrets } from './aws/linkedSecrets';
import { lambdaEntry } from './lambdaEntry';
import { service } from './service';

/**
 * Applies the framework's pending migrations, then the service's. Invoked by
 * the deploy itself (see sst.config.ts), before any function of the new code
 * takes traffic; the others only check that the schema is current.
 */
async function migrateDeployment(): Promise<AppliedMigrations> {
  const env = { ...process.env, ...linkedSecrets() };
  const db = createDb(dbConfigFromEnv({ ...env, DB_POOL_MAX: '1' }));
  try {
    const applied = await migrateService(db, service, migrationDirectoriesFromEnv(env));
    log.info('migrations applied', { ...applied });
    return applied;
  } finally {
    await db.close();
  }
}

export const handler = lambdaEntry(migrateDeployment);
