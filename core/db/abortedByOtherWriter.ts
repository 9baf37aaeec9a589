import { asDatabaseError } from './databaseError';

// Deadlock detected, serialization failure.
const ABORTED_BY_OTHER_WRITER = new Set(['40P01', '40001']);

/**
 * Whether PostgreSQL aborted the statement's transaction because of another
 * writer: a deadlock, or a serialization failure. It says nothing about the
 * work itself, and the same work tried again runs without that writer.
 */
export function abortedByOtherWriter(error: unknown): boolean {
  const code = asDatabaseError(error)?.code;
  return code !== undefined && ABORTED_BY_OTHER_WRITER.has(code);
}
