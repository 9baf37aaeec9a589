/**
 * The pool was closed while a statement or transaction waited for one of its
 * connections. node-postgres drops such waiters on `end()` without settling
 * them, which left the caller (a publisher's run, say) waiting for ever.
 */
export class PoolClosedError extends Error {
  constructor() {
    super('The database pool was closed while this statement waited for a connection');
    this.name = 'PoolClosedError';
  }
}
