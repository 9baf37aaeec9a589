export { createPgliteDb, type PgliteDb, type PgliteDbOptions } from './pgliteDb';
export { PgliteReentrantCallError } from './transactionScope';
export { DataDirLockedError, LOCK_FILE } from './dataDirLock';
