export {
  acquirePartitionLease,
  renewPartitionLease,
  releasePartitionLease,
  assertPartitionLeaseHeld,
  listPartitionLeases,
  MAX_PARTITIONS,
  type LeaseRequest,
} from './partitionLeases';
export { PartitionLeaseLostError, LeaseRequestError, type PartitionLease } from './PartitionLease';
export { holdingLeases } from './holdingLeases';
