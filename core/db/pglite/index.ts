export { createPgliteDb, type PgliteDb, type PgliteDbOptions } from './pgliteDb';
export { PgliteReentrantCallError } from './transactionScope';
