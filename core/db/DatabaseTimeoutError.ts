/** What went unanswered: opening a connection, or a statement sent on one. */
export type UnansweredWait = 'connection' | 'answer';

/**
 * The database did not answer within its bound (`DB_CONNECT_TIMEOUT_MS`,
 * `DB_QUERY_TIMEOUT_MS`): a server that takes connections and then says
 * nothing would otherwise hold the caller until Lambda killed it.
 *
 * After a statement's bound the connection is closed, never pooled again. On
 * pg the server is also asked to cancel the statement (cancelRequest.ts), so a
 * server that is only slow stops it instead of running it to its commit; Neon's
 * driver sends no cancel, and a server that says nothing may not take one. So
 * the statement's outcome is unknown. On its own (autocommit, as an append at
 * an exact version is sent) it may have committed; inside a transaction the
 * server rolls back, unless the unanswered statement was the COMMIT. What the framework writes is safe to try again (appends by
 * command id, checkpoints and leases by their fencing).
 */
export class DatabaseTimeoutError extends Error {
  /**
   * SQLSTATE class 08, as for a lost connection, so that everything reading
   * SQLSTATE classes (the pool discarding connections, retry policies) treats it
   * as one: `08001` when no connection could be opened, `08006` once one is closed.
   */
  readonly code: '08001' | '08006';

  constructor(
    readonly waitingFor: UnansweredWait,
    readonly timeoutMs: number,
    cause?: unknown,
  ) {
    super(
      waitingFor === 'connection'
        ? `The database did not open a connection within ${timeoutMs} ms`
        : `The database did not answer a statement within ${timeoutMs} ms; the connection was closed, and the statement's outcome is unknown`,
      { cause },
    );
    this.name = 'DatabaseTimeoutError';
    this.code = waitingFor === 'connection' ? '08001' : '08006';
  }
}
