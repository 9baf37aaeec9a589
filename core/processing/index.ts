export type { FeedProcessor, TransactionalHandler, ExternalHandler, ExternalOutcome, BatchContext, ExternalBatchContext, FencedWrites, TransactionalBatchContext } from './FeedProcessor';
export type { FeedSource, SourcePage, SourceLag } from './FeedSource';
export { BatchItemError, type BatchRetry } from './BatchItemError';
export { HandlerWentOnPastFailureError } from './HandlerWentOnPastFailureError';
export { LeaseRanOutError } from './LeaseRanOutError';
export { batchIdleTimeoutMs } from './batchIdleTimeout';
export { UnknownProcessorError } from './UnknownProcessorError';
export { ExternalOutcomeError } from './ExternalOutcomeError';
export { DEFAULT_FAILURE_POLICY, type FailurePolicy } from './failurePolicy';
export { checkDeadline, checkFailurePolicy, checkHolder, checkLeaseTtl, isDeadline, MAX_TIMER_MS } from './processorRunChecks';
export { eventFeedSource, type EventFeedSourceOptions } from './eventFeedSource';
export { partitionOfKey } from './partitionOfKey';
export { whyHandledTypeRenamed } from './renamedHandledType';
export { isBatchSize, MAX_BATCH_SIZE } from './batchSize';
export { runFeedProcessor, DEFAULT_INTERRUPTION_BACKOFF, type ProcessorRun, type ProcessorRunOptions } from './runFeedProcessor';
export type { Backoff, DrainReport, HandlerFailure } from './drainPartition';
export {
  getProcessorStatus,
  getProcessorLag,
  LAG_COUNT_LIMIT,
  type ProcessorPartitionStatus,
  type ProcessorLag,
  type PartitionLag,
} from './processorStatus';
export { partitionsCaughtUpOnce, registerProcessor, resumeProcessors, stopProcessor, lockAllPartitions } from './processorRecords';
export { ProcessorDefinitionError } from './ProcessorDefinitionError';
export {
  acquirePartitionLease,
  anyPartitionHeldOutsideABatch,
  ensurePartitionLeaseRows,
  renewPartitionLease,
  releasePartitionLease,
  assertPartitionLeaseHeld,
  listPartitionLeases,
  MAX_PARTITIONS,
  isStorableName,
  type LeaseRequest,
  type AcquiredLease,
} from './partitionLeases';
export { DEFAULT_LEASE_TTL_MS, PartitionLeaseLostError, LeaseRequestError, type PartitionLease } from './PartitionLease';
export { holdingLeases } from './holdingLeases';
export { giveLeaseBack, type LeaseRelease } from './giveLeaseBack';
export { fencedWrites } from './fencedWrites';
export { catchUpLocked, type LockedCatchUp } from './catchUpLocked';
export { eachOnItsOwn, namedFailures } from './eachOnItsOwn';
