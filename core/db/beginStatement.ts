import type { TransactionOptions } from './Db';
import { MAX_POSTGRES_INTEGER } from './maxPostgresInteger';

/** Whether a value is an idle bound PostgreSQL can take: a whole number of milliseconds from 1 within its integer. */
export const isIdleTimeoutMs = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_POSTGRES_INTEGER;

/**
 * Refuses an idle bound PostgreSQL cannot take, before any connection is taken:
 * it is written into the BEGIN statement's text, so only a whole number within
 * PostgreSQL's integer may be.
 */
export function checkTransactionOptions(options: TransactionOptions | undefined): void {
  const idleTimeoutMs = options?.idleTimeoutMs;
  if (idleTimeoutMs === undefined) return;
  if (!isIdleTimeoutMs(idleTimeoutMs)) {
    throw new RangeError(`a transaction's idleTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_POSTGRES_INTEGER}, not ${String(idleTimeoutMs)}`);
  }
}

/**
 * Whatever the database's default, READ COMMITTED: the framework's statements are
 * written for a fresh snapshot each (an append reading the stream's head after its
 * lock). An idle bound (checked by checkTransactionOptions) goes in the same round
 * trip, as a local setting.
 */
export function beginStatement(options: TransactionOptions | undefined): string {
  const idleTimeoutMs = options?.idleTimeoutMs;
  if (idleTimeoutMs === undefined) return 'BEGIN ISOLATION LEVEL READ COMMITTED';
  return `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL idle_in_transaction_session_timeout = ${idleTimeoutMs}`;
}
