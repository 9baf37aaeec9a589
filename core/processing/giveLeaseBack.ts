import type { Queryable } from '../db';
import type { PartitionLease } from './PartitionLease';
import { releasePartitionLease } from './partitionLeases';

/** How a lease was given back. */
export type LeaseRelease = 'released' | 'taken_over' | 'failed';

/**
 * Gives a lease back, trying twice: a pooled connection lost between batches
 * fails one statement, and a lease left to run out holds its partition (or
 * turn) from every other instance, and from the next run of this one, until
 * it expires; its next holder then counts it as a holder that died mid-batch.
 *
 * Only a first try's answer tells a takeover: after a try whose answer was
 * lost, the lease may have been given back by it and claimed since by another
 * instance, as every free partition may be. The second try's answer counts as
 * given back either way; `failed` when both tries failed, which only delays
 * the next holder until the lease expires.
 */
export function giveLeaseBack(db: Queryable, lease: PartitionLease): Promise<LeaseRelease> {
  return releasePartitionLease(db, lease).then(
    (givenBack): LeaseRelease => (givenBack ? 'released' : 'taken_over'),
    () => releasePartitionLease(db, lease).then(
      (): LeaseRelease => 'released',
      (): LeaseRelease => 'failed',
    ),
  );
}
