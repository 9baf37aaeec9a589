/**
 * The pool was closed before a statement or transaction got one of its
 * connections: sent after the close, or waiting for one when it came.
 * node-postgres drops such waiters on `end()` without settling them, which
 * left the caller (a publisher's run, say) waiting for ever.
 */
export class PoolClosedError extends Error {
  constructor() {
    super('The database pool was closed: the statement got no connection');
    this.name = 'PoolClosedError';
  }
}
