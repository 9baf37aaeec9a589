/** A partition's lease unless the caller sets another: a dead holder's partitions are taken over after it. */
export const DEFAULT_LEASE_TTL_MS = 30_000;

/** A held claim on one partition of a lease group, valid until `expiresAt`. */
export interface PartitionLease {
  group: string;
  partition: number;
  /** How many partitions the group is split into. */
  partitions: number;
  holder: string;
  /** Grows with every acquisition: a write fenced by it fails once another holder took over. */
  epoch: bigint;
  expiresAt: Date;
}

export interface LeaseRow {
  lease_group: string;
  partition: number;
  holder: string | null;
  epoch: string;
  expires_at: Date;
}

export function toLease(row: LeaseRow, partitions: number): PartitionLease {
  return {
    group: row.lease_group,
    partition: row.partition,
    partitions,
    holder: row.holder ?? '',
    epoch: BigInt(row.epoch),
    expiresAt: row.expires_at,
  };
}

export class PartitionLeaseLostError extends Error {
  readonly code = 'PARTITION_LEASE_LOST';
  constructor(readonly lease: PartitionLease) {
    super(`Lease on partition ${lease.partition} of ${lease.group} (epoch ${lease.epoch}) is no longer held by ${lease.holder}`);
    this.name = 'PartitionLeaseLostError';
  }
}

export class LeaseRequestError extends Error {
  readonly code = 'INVALID_LEASE_REQUEST';
  constructor(message: string) {
    super(message);
    this.name = 'LeaseRequestError';
  }
}
