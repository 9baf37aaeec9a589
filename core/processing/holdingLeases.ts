import type { Queryable } from '../db';
import type { PartitionLease } from './PartitionLease';
import { giveLeaseBack, type LeaseRelease } from './giveLeaseBack';
import { acquirePartitionLease, anyPartitionFree, claimPartitionLease, type AcquiredLease, type LeaseRequest } from './partitionLeases';

/** The leases of one run: claimed one at a time, each given back when its partition is drained. */
export interface RunLeases {
  /** Claims a free partition of the group that this run has not leased yet, or null when there is none. */
  acquire(): Promise<AcquiredLease | null>;
  /**
   * Gives a drained partition back at once, for other instances to take, as
   * `giveLeaseBack` tells it: `taken_over` when it was no longer this run's to give.
   */
  drained(lease: PartitionLease): Promise<LeaseRelease>;
  /** Claims a partition this run drained, if it is free: new work reached it after it was given back. */
  retake(partition: number): Promise<AcquiredLease | null>;
  /** Whether this run has leased every partition of the group: `acquire` can find none, now or later. */
  leasedEvery(): boolean;
  /** Whether `acquire` would find a partition now: one this run has not leased is free. Claims nothing. */
  anyLeftFree(): Promise<boolean>;
}

/**
 * Runs `work` with the leases of one run, and releases at the end whatever it
 * still holds. A drained partition is released at once rather than at the
 * run's end, so another instance can keep it up while this run is still at
 * work on another (a key NATS keeps refusing); `acquire` does not take it back,
 * or the run would drain the partition it just released instead of reaching
 * the others; only `retake` does, for work found past it after the release.
 * A claim the server runs late still can: sent beside a sibling slot's claim of
 * the same partition, it sees the partition as it was at its snapshot, and
 * takes it once the sibling has drained it and given it back. It is kept, as a
 * retake would be: the sibling's retake finds it held, so work committed just
 * before the sibling's release is this lease's to drain. It counts once toward
 * `leasedEvery`, or the run would stop short of a partition it never leased.
 * A release is tried twice (`giveLeaseBack`); one that fails twice only delays
 * a takeover until the lease expires, so it does not fail the work.
 */
export async function holdingLeases<T>(db: Queryable, request: LeaseRequest, work: (leases: RunLeases) => Promise<T>): Promise<T> {
  const held = new Set<PartitionLease>();
  // Every partition this run has leased, from the moment it was leased: the run's slots
  // lease while their siblings drain, and a sibling's partition is free in the database
  // for a moment before its drain settles (a failed batch gives its lease back in its own
  // transaction) or once its lease has run out under a long batch.
  const leasedPartitions: number[] = [];
  // A miss made sure the group's lease rows exist: the run's later looks need only claim.
  let rowsMade = false;
  const release = (lease: PartitionLease): Promise<LeaseRelease> => {
    held.delete(lease);
    return giveLeaseBack(db, lease);
  };
  const leases: RunLeases = {
    async acquire() {
      const lookFor = rowsMade ? claimPartitionLease : acquirePartitionLease;
      const lease = await lookFor(db, { ...request, exclude: leasedPartitions });
      if (lease) {
        held.add(lease);
        if (!leasedPartitions.includes(lease.partition)) leasedPartitions.push(lease.partition);
      } else {
        rowsMade = true;
      }
      return lease;
    },
    drained: (lease) => release(lease),
    leasedEvery: () => leasedPartitions.length >= request.partitions,
    async retake(partition) {
      const lease = await acquirePartitionLease(db, { ...request, only: partition });
      if (lease) held.add(lease);
      return lease;
    },
    anyLeftFree: () => anyPartitionFree(db, { ...request, exclude: leasedPartitions }),
  };
  try {
    return await work(leases);
  } finally {
    await Promise.all([...held].map(release));
  }
}
