export { isDb, type Db, type Queryable, type QueryOptions, type QueryResult, type TransactionOptions } from './Db';
export { poolDb, TransactionAbortedError, type PgCompatiblePool, type PoolDbOptions } from './poolDb';
export { createPgDb, type PgDbOptions } from './pgDb';
export { createDb } from './createDb';
export { ConnectionLostError } from './ConnectionLostError';
export { idleTransactionEnded } from './idleTransactionEnded';
export { isIdleTimeoutMs } from './beginStatement';
export { OWN_STATEMENTS_IDLE_MS } from './ownStatementsIdle';
export { PoolClosedError } from './PoolClosedError';
export { DatabaseTimeoutError, type UnansweredWait } from './DatabaseTimeoutError';
export type { DatabaseBounds } from './DatabaseBounds';
export { asDatabaseError, type DatabaseErrorFields } from './databaseError';
export { abortedByOtherWriter } from './abortedByOtherWriter';
export { refusedInFailedTransaction } from './refusedInFailedTransaction';
export { isDatabaseUnavailable } from './databaseUnavailable';
export { exactTimestampText } from './exactTimestampText';
export { readInOneSnapshot } from './readInOneSnapshot';
export { MAX_POSTGRES_INTEGER } from './maxPostgresInteger';
export { inSavepoint, undoneAfter } from './savepoints';
export { dbConfigFromEnv, DEFAULT_DATABASE_URL, type DbConfig } from './config';
export {
  migrate,
  loadMigrations,
  appliedMigrations,
  MigrationChecksumError,
  DEFAULT_MIGRATIONS_DIRECTORY,
  FRAMEWORK,
  type Migration,
  type MigrationScope,
} from './migrate';
export { assertSchemaCurrent, SchemaNotCurrentError } from './schemaCheck';
export { deleteInBatches, type BatchedDeletion } from './deleteInBatches';
export { DeletionStoppedError } from './DeletionStoppedError';
export { deleteOlderThan, isPositiveCount, isRetentionMs, MAX_RETENTION_MS, retentionSeconds, type RetentionOptions } from './deleteOlderThan';
export { RetentionOptionsError } from './RetentionOptionsError';
export { createPgliteDb, DataDirLockedError, PgliteReentrantCallError, type PgliteDb, type PgliteDbOptions } from './pglite';
