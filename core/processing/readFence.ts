import type { PartitionLease } from './PartitionLease';

/**
 * SQL that holds while the lease whose four values are the statement's
 * parameters from `$first` (see readFenceParams) has not been taken over: an
 * acquirer moves the epoch. With no lease (the parameters NULL), it always holds.
 * Uncorrelated, it is asked once per statement, in the statement's own snapshot,
 * and locks nothing: a page read so fenced leaves no lock behind if its process
 * freezes mid-read.
 */
export const readFenceSql = (first: number): string =>
  `($${first}::text IS NULL OR EXISTS (SELECT FROM partition_leases fence
     WHERE fence.lease_group = $${first}::text AND fence.partition = $${first + 1}::integer
       AND fence.holder = $${first + 2}::text AND fence.epoch = $${first + 3}::bigint))`;

/** The four parameters of readFenceSql: the lease's, or NULLs for a read fenced by nothing. */
export const readFenceParams = (lease: PartitionLease | undefined): unknown[] =>
  lease ? [lease.group, lease.partition, lease.holder, lease.epoch.toString()] : [null, null, null, null];
