import type { Queryable } from './Db';
import { deleteInBatches, type BatchedDeletion } from './deleteInBatches';
import { RetentionOptionsError } from './RetentionOptionsError';

/**
 * The longest retention a cleanup takes: a thousand years. PostgreSQL subtracts
 * it from now(), and one too long to subtract fails every run of the cleanup.
 */
export const MAX_RETENTION_MS = 1_000 * 365 * 24 * 60 * 60_000;

export interface RetentionOptions {
  /** Rows older than this are deleted: from 0 to MAX_RETENTION_MS. */
  retentionMs: number;
  /** Rows per statement, 1,000 by default. */
  batchSize?: number;
  /** Statements per call, 10 by default. */
  batches?: number;
}

/**
 * A retention a cleanup can subtract from now(): a number of milliseconds from 0
 * to MAX_RETENTION_MS. Asked of what a JavaScript caller or a parsed config hands
 * over: null, '' or true would pass a comparison alone.
 */
export const isRetentionMs = (value: unknown): boolean => typeof value === 'number' && value >= 0 && value <= MAX_RETENTION_MS;

/**
 * A retention as the seconds a cleanup's statement takes (`make_interval(secs => $1)`),
 * divided here: one so small that its quotient underflows (Number.MIN_VALUE ms) comes to 0,
 * where the server's own division failed on it.
 */
export const retentionSeconds = (retentionMs: number): number => retentionMs / 1000;

/** A batch size or a count of batches: a whole number from 1. */
export const isPositiveCount = (value: number): boolean => Number.isSafeInteger(value) && value >= 1;

/**
 * Runs a cleanup's DELETE (its `$1` the retention in seconds, retentionSeconds,
 * its `$2` the batch's LIMIT) in bounded batches. A negative retention would delete rows
 * written a moment ago, and a batch of 0 would report more to delete on every
 * call for ever: both are refused, as is anything that is not a number.
 */
export async function deleteOlderThan(db: Queryable, text: string, options: RetentionOptions): Promise<BatchedDeletion> {
  // Left out by a JavaScript caller, it would be destructured into a TypeError.
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) throw new RetentionOptionsError('retention options must be an object with retentionMs');
  const { retentionMs, batchSize = 1_000, batches = 10 } = options;
  if (!isRetentionMs(retentionMs)) {
    throw new RetentionOptionsError(`retentionMs must be a number of milliseconds from 0 to ${MAX_RETENTION_MS} (a thousand years), not ${retentionMs}`);
  }
  for (const [name, value] of [['batchSize', batchSize], ['batches', batches]] as const) {
    if (!isPositiveCount(value)) throw new RetentionOptionsError(`${name} must be a positive integer, not ${value}`);
  }
  return deleteInBatches(db, text, [retentionSeconds(retentionMs), batchSize], { batchSize, maxBatches: batches });
}
