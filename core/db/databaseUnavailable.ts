import { asDatabaseError } from './databaseError';

// Too many connections; the server going away (class 57) or the connection failing (class 08).
const UNAVAILABLE_SQLSTATES = new Set(['53300']);
const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '57'];
// Class 57 but not the server's failing: the statement was cancelled (the server's own
// statement_timeout, or a cancel request), on a connection still there, and nothing of it kept.
const STATEMENT_CANCELLED = '57014';
// What the drivers throw, without a SQLSTATE, when the way to the server fails.
const LOST_CONNECTION = /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE|socket hang up|WebSocket/i;

/**
 * Whether the database or the way to it failed, rather than the statement
 * being refused: whatever was sent may or may not have been kept (a reply lost
 * after its commit looks the same as a statement never run). A
 * DatabaseTimeoutError is one too (class 08).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const dbError = asDatabaseError(error);
  if (dbError) {
    if (dbError.code === STATEMENT_CANCELLED) return false;
    return UNAVAILABLE_SQLSTATES.has(dbError.code) || UNAVAILABLE_SQLSTATE_CLASSES.some((prefix) => dbError.code.startsWith(prefix));
  }
  if (!(error instanceof Error)) return false;
  const { code } = error as { code?: unknown };
  return LOST_CONNECTION.test(error.message) || (typeof code === 'string' && LOST_CONNECTION.test(code));
}
