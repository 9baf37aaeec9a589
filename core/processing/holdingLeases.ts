import type { Queryable } from '../db';
import type { PartitionLease } from './PartitionLease';
import { acquirePartitionLease, releasePartitionLease, type LeaseRequest } from './partitionLeases';

/**
 * Runs `work` with an `acquire` that claims the group's free partitions one at a
 * time, keeps every lease it granted until `work` ends, and then releases them all.
 * They are kept to the end because a released partition is the first one offered
 * again: a runner releasing each partition it drained would take it straight back
 * instead of reaching the others. A failed release only delays a takeover until
 * the lease expires, so it does not fail the work.
 */
export async function holdingLeases<T>(
  db: Queryable,
  request: LeaseRequest,
  work: (acquire: () => Promise<PartitionLease | null>) => Promise<T>,
): Promise<T> {
  const held: PartitionLease[] = [];
  const acquire = async () => {
    const lease = await acquirePartitionLease(db, request);
    if (lease) held.push(lease);
    return lease;
  };
  try {
    return await work(acquire);
  } finally {
    await Promise.allSettled(held.map((lease) => releasePartitionLease(db, lease)));
  }
}
