/**
 * The server closed a connection the caller still held, while no statement was
 * running on it (a transaction idle between two statements). Nothing more can
 * be sent on it, and the server rolled back whatever transaction was open.
 */
export class ConnectionLostError extends Error {
  /**
   * SQLSTATE `08006` (connection_failure), so that everything reading SQLSTATE
   * classes (the pool discarding connections, retry policies) treats it as the
   * lost connection it is.
   */
  readonly code = '08006';

  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`The database connection was lost (${reason}); the server rolled back its open transaction`, { cause });
    this.name = 'ConnectionLostError';
  }
}
