export type { Db, Queryable, QueryOptions, QueryResult } from './Db';
export { poolDb, type PgCompatiblePool, type PoolDbOptions } from './poolDb';
export { createPgDb, type PgDbOptions } from './pgDb';
export { createNeonDb, type NeonDbOptions } from './neonDb';
export { createDb } from './createDb';
export { asDatabaseError, type DatabaseErrorFields } from './databaseError';
export { dbConfigFromEnv, DEFAULT_DATABASE_URL, type DbConfig } from './config';
export { migrateOnColdStart } from './migrateOnColdStart';
export { migrate, loadMigrations, MigrationChecksumError, DEFAULT_MIGRATIONS_DIRECTORY, type Migration } from './migrate';
