import type { Db } from '../db';
import { batchIdleTimeoutMs } from './batchIdleTimeout';
import type { FencedWrites } from './FeedProcessor';
import { PartitionLeaseLostError, type PartitionLease } from './PartitionLease';

// The lease's row, share-locked to the commit: no acquirer takes the partition over
// between the check and the writes. As for an external batch's checkpoint
// (processorRecords.ts), a lease that only ran out while the batch worked still holds:
// no one else has worked on the partition since, as an acquirer moves the epoch.
const NOT_TAKEN_OVER_SQL = 'SELECT FROM partition_leases WHERE lease_group = $1 AND partition = $2 AND holder = $3 AND epoch = $4 FOR SHARE';

/**
 * An external batch's own writes to the database (the publisher parking a
 * message), fenced by its lease: a holder whose partition was taken over while
 * it stalled writes nothing, and gets PartitionLeaseLostError. Its transaction
 * is ended by the server once idle past batchIdleTimeoutMs of the run's lease
 * time (given none, 10 s), as a batch's is.
 */
export function fencedWrites(db: Db, lease: PartitionLease, leaseTtlMs?: number): FencedWrites {
  return (work) =>
    db.transaction(async (tx) => {
      const { rowCount } = await tx.query(NOT_TAKEN_OVER_SQL, [lease.group, lease.partition, lease.holder, lease.epoch.toString()], { name: 'processor_fence_writes' });
      if (rowCount === 0) throw new PartitionLeaseLostError(lease);
      return work(tx);
    }, { idleTimeoutMs: batchIdleTimeoutMs(leaseTtlMs) });
}
