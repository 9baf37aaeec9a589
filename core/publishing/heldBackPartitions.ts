import type { PublishingStatus } from './publishingStatus';

export interface HeldBackPartition {
  source: 'events' | 'outbox';
  partition: number;
  attempts: number;
  lastError: string | null;
  /** When a run may take it again; null for one marked failed. */
  nextAttemptAt: Date | null;
}

/**
 * Partitions no run takes now: waiting out the backoff after publishers died
 * holding them (by the database's clock, as the runs tell), or failed. A run
 * reports only the partitions it drained, so its report can say caught up while
 * these wait.
 */
export function heldBackPartitions(status: PublishingStatus): HeldBackPartition[] {
  return (['events', 'outbox'] as const).flatMap((source) =>
    status[source].partitions
      .filter((partition) => !partition.stopped && (partition.state === 'failed' || partition.waitingOutBackoff))
      .map(({ partition, attempts, lastError, nextAttemptAt }) => ({ source, partition, attempts, lastError, nextAttemptAt })),
  );
}
