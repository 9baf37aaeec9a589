import type { Queryable } from '../db';
import { batchFailureOf } from './batchFailure';
import type { FeedProcessor, TransactionalHandler } from './FeedProcessor';
import { isPartitionOf } from './partitionLeases';
import { advanceCheckpoint, lockPartition } from './processorRecords';
import { checkDeadline } from './processorRunChecks';
import { ProcessorDefinitionError } from './ProcessorDefinitionError';

export interface LockedCatchUp {
  caughtUp: boolean;
  /** Items handled, in batches that handled any. */
  items: number;
  batches: number;
}

/**
 * Inside the caller's transaction: locks a partition of a transactional
 * processor and runs batches on it until it is caught up, at most `maxBatches`,
 * none starting at or after `deadline` (epoch ms).
 * Whoever holds the partition's lease waits for this transaction at its next
 * batch and goes on from the checkpoint stored here. Says whether the
 * partition is running and caught up: nothing past its checkpoint is visible.
 * A partition with a failure streak is not: its batch is left to the failure
 * policy (its backoff, its count of attempts), which a run here would bypass.
 * Also says what it applied, which the caller's commit keeps or its rollback undoes.
 * A batch that fails throws the handler's error as it is (a BatchItemError, or
 * any other), or a BatchItemError for a handler that went on past a failed
 * statement; the caller's transaction is then to be rolled back.
 */
export async function catchUpLocked<Item, Result>(
  tx: Queryable,
  processor: FeedProcessor<Item, Result>,
  handler: TransactionalHandler<Item, Result>,
  partition: number,
  limits: { maxBatches: number; deadline: number },
): Promise<LockedCatchUp> {
  // NaN would pass every comparison with the clock as no deadline at all.
  checkDeadline(limits.deadline, processor.name);
  // The partition is a statement's parameter, where 0.5 fails untyped; a batch count of NaN would apply nothing and say so.
  if (!isPartitionOf(processor.partitions, partition)) {
    throw new ProcessorDefinitionError(`${processor.name}: partition must be an integer from 0 to ${processor.partitions - 1}, not ${partition}`);
  }
  if (!(Number.isInteger(limits.maxBatches) && limits.maxBatches >= 1)) {
    throw new ProcessorDefinitionError(`${processor.name}: maxBatches must be a positive integer, not ${limits.maxBatches}`);
  }
  const state = await lockPartition(tx, processor, partition);
  const applied: LockedCatchUp = { caughtUp: false, items: 0, batches: 0 };
  if (state?.state !== 'running' || state.stopped || state.failing) return applied;
  let { checkpoint } = state;
  for (let batch = 0; batch < limits.maxBatches; batch++) {
    if (Date.now() >= limits.deadline) return applied;
    const page = await processor.source.read(tx, {
      after: checkpoint,
      limit: processor.batchSize,
      partition: { index: partition, count: processor.partitions },
    });
    try {
      if (page.items.length > 0) {
        await handler.handle(page.items, { tx, partition, partitions: processor.partitions });
        applied.items += page.items.length;
        applied.batches += 1;
      }
      await advanceCheckpoint(tx, processor.name, partition, { checkpoint: page.checkpoint, items: page.items.length, caughtUp: page.caughtUp });
    } catch (error) {
      // A handler that went on past a failed statement fails the batch, as its own error would.
      throw batchFailureOf(error) ?? error;
    }
    checkpoint = page.checkpoint;
    if (page.caughtUp) return { ...applied, caughtUp: true };
  }
  return applied;
}
