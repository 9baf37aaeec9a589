import { MAX_POSTGRES_INTEGER } from '../db';

// Well above the pauses of a loaded process between two statements (a garbage collection, a busy event loop).
const MIN_BATCH_IDLE_MS = 10_000;

/**
 * How long a transaction that holds a partition's lease row (a transactional
 * batch, an external batch's fenced writes) may sit between two statements
 * before the server ends it: two leases, and at least 10 s. Acquirers skip the
 * locked row, so a holder frozen or hung there would otherwise keep the
 * partition, and the feed's horizon, for as long as its connection lived.
 */
export function batchIdleTimeoutMs(leaseTtlMs: number | undefined): number {
  // Not given (fencedWrites called as before it took the lease's time): the floor.
  const twoLeases = leaseTtlMs !== undefined && Number.isFinite(leaseTtlMs) ? Math.ceil(2 * leaseTtlMs) : 0;
  return Math.min(MAX_POSTGRES_INTEGER, Math.max(MIN_BATCH_IDLE_MS, twoLeases));
}
