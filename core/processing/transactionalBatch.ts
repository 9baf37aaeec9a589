import { DatabaseTimeoutError, idleTransactionEnded, type Db, type Queryable } from '../db';
import { inBatchSpan } from '../observability';
import { compareCheckpoints } from '../eventstore';
import { batchIdleTimeoutMs } from './batchIdleTimeout';
import { BatchItemError } from './BatchItemError';
import { batchFailureOf, handlerFailure } from './batchFailure';
import type { BatchOutcome } from './batchOutcome';
import type { FeedProcessor, TransactionalHandler } from './FeedProcessor';
import { PartitionLeaseLostError, type PartitionLease } from './PartitionLease';
import { countFailedBatch, countFailedBatchApart } from './failureRecords';
import { advanceCheckpoint, lockPartitionNotTakenOver } from './processorRecords';

/**
 * Reads the partition's next page from its checkpoint, hands it to the handler
 * and stores the new checkpoint, all in one transaction: every item's effect is
 * kept exactly once, whatever crashes. The lease is checked inside the
 * transaction, so a holder that lost its lease writes nothing.
 *
 * The lease row stays share-locked from the check to the commit, so no
 * acquirer takes the partition while the batch works. The check is that no
 * one took the partition over (an acquirer moves the epoch), not that the
 * lease's time is left: a drain whose batch waited for a pooled connection
 * (more drains at once than connections) past its lease is still its holder
 * while no one took the partition, and its batch renews the lease before it
 * commits. Refused, it would end the drain as if the lease were lost. A batch that used half
 * its lease renews it before it commits: the row would otherwise be unlocked
 * at the commit with its time run out, free to any acquirer, which would count
 * this live holder as dead before its next batch renewed it.
 *
 * A batch that fails (BatchItemError, or a statement refused after the
 * handler went on past a failed one) is rolled back to a savepoint taken
 * after the lease check, and its failure recorded in the same transaction: the
 * lease row stays share-locked from the check to the commit, so no acquirer
 * can take the partition and run the same batch again in between, even when
 * the batch ran past its lease's time before failing.
 *
 * A handler's statement that outlasted the pool's query bound took the
 * transaction with it: the connection was closed. Such a failure is counted
 * in a fresh transaction fenced by the lease; thrown instead, it ended every
 * run on the same partition, uncounted, before the others were reached.
 *
 * Since acquirers skip the locked lease row, a holder frozen or hung in its
 * batch (a paused process, a handler awaiting a promise that never settles)
 * would keep its partition for as long as its connection lived. So the
 * server ends a batch's transaction that sits idle between two statements for
 * longer than batchIdleTimeoutMs: the row comes unlocked, its lease runs out,
 * and the partition is taken over as from a dead holder. A live handler that
 * waited that long finds its connection gone: its batch is counted as failed.
 */
export async function runTransactionalBatch<Item, Result>(
  db: Db,
  processor: FeedProcessor<Item, Result>,
  handler: TransactionalHandler<Item, Result>,
  lease: PartitionLease,
  around: {
    /** The run's: a batch whose connection came after it reads nothing (a drain's first goes on all the same). */
    deadline: number;
    /** Told as the batch's transaction begins, its connection taken, and as it has settled (a hung one never has). */
    began: () => void;
    ended: () => void;
    /** In the batch's transaction, before it commits: renews the leases due; what it returns is called once the commit is done. */
    renewBeforeCommit: (tx: Queryable) => Promise<() => void>;
    afterCommitWithin: (work: () => Promise<void>) => Promise<void>;
    /** The run's lease time, which bounds how long the batch's transaction may sit idle (batchIdleTimeoutMs). */
    leaseTtlMs: number;
  },
): Promise<BatchOutcome> {
  const { name } = processor;
  const partition = lease.partition;
  let committed: { result: Result } | undefined;
  let keepRenewals: (() => void) | undefined;
  let failedWithoutTransaction: BatchItemError | undefined;
  let outcome: BatchOutcome;
  try {
    outcome = await db.transaction(async (tx): Promise<BatchOutcome> => {
      around.began();
      // The drain looked at the deadline before the batch waited for its connection: with
      // more drains than connections, every batch queued before the deadline ran after it.
      if (Date.now() >= around.deadline) return { kind: 'past_deadline' };
      const state = await lockPartitionNotTakenOver(tx, lease);
      if (!state || state.stopped) return { kind: 'inactive' };
      if (state.state === 'failed') return { kind: 'failed' };
      if (state.waitUntil) return { kind: 'waiting', until: state.waitUntil };
      await tx.query(SAVEPOINT_SQL);
      try {
        const page = await processor.source.read(tx, {
          after: state.checkpoint,
          limit: processor.batchSize,
          partition: { index: partition, count: processor.partitions },
        });
        if (page.items.length > 0) {
          const traces = processor.source.traceOf ? page.items.map((item) => processor.source.traceOf?.(item)) : [];
          const attributes = { 'processor.name': name, 'processor.partition': partition, 'messaging.batch.message_count': page.items.length };
          try {
            committed = { result: await inBatchSpan(`${name} process`, traces, attributes, () => handler.handle(page.items, { tx, partition, partitions: processor.partitions })) };
          } catch (error) {
            throw handlerFailure(name, error);
          }
        }
        // An idle poll that changes nothing writes nothing; one that ends a failure streak stores it.
        const moved = compareCheckpoints(page.checkpoint, state.checkpoint) !== 0;
        if (moved || (page.caughtUp && !state.caughtUp) || state.failing) {
          await advanceCheckpoint(tx, name, partition, { checkpoint: page.checkpoint, items: page.items.length, caughtUp: page.caughtUp });
        }
        keepRenewals = await around.renewBeforeCommit(tx);
        return { kind: 'applied', items: page.items.length, checkpoint: page.checkpoint, caughtUp: page.caughtUp };
      } catch (error) {
        const failure = batchFailureOf(error) ?? idledPastBound(name, error);
        if (!failure) throw error;
        committed = undefined;
        keepRenewals = undefined;
        try {
          await tx.query(ROLLBACK_TO_SAVEPOINT_SQL);
        } catch (lost) {
          // Counted below, apart, if the connection went with a statement past the query bound.
          failedWithoutTransaction = failure;
          throw lost;
        }
        // Released too: the failure is recorded by the batch's own transaction, not in the savepoint.
        await tx.query(RELEASE_SAVEPOINT_SQL);
        return countFailedBatch(tx, processor, lease, failure);
      }
    }, { idleTimeoutMs: batchIdleTimeoutMs(around.leaseTtlMs) }).finally(around.ended);
  } catch (error) {
    if (error instanceof PartitionLeaseLostError) return { kind: 'lease_lost' };
    // The handler's statement outlasted the query bound, or the handler sat idle past the idle bound:
    // the rollback to the savepoint found the connection closed.
    if (failedWithoutTransaction && (error instanceof DatabaseTimeoutError || idleTransactionEnded(error))) {
      return countFailedBatchApart(db, processor, lease, failedWithoutTransaction);
    }
    throw error;
  }
  keepRenewals?.();
  // Not the batch's failure, whatever it throws: the batch is committed, and its
  // partition must not be held back or marked failed for it. The run ends with the error.
  // The lease row is no longer locked: the caller keeps the lease while it runs.
  if (committed && handler.afterCommit) {
    const { result } = committed;
    await around.afterCommitWithin(() => handler.afterCommit?.(result) ?? Promise.resolve());
  }
  return outcome;
}

const SAVEPOINT_SQL = 'SAVEPOINT feed_batch';
const ROLLBACK_TO_SAVEPOINT_SQL = 'ROLLBACK TO SAVEPOINT feed_batch';
const RELEASE_SAVEPOINT_SQL = 'RELEASE SAVEPOINT feed_batch';

/**
 * The batch's transaction, ended by the server for sitting idle past its bound,
 * as the batch's failure when the engine's own statement met it (a handler whose
 * long wait was its last step): thrown, it ended every run on the partition, uncounted.
 */
function idledPastBound(processor: string, error: unknown): BatchItemError | null {
  if (!idleTransactionEnded(error)) return null;
  return new BatchItemError(
    `${processor}: the batch's transaction sat idle past its bound and the server ended it; a handler that waits on anything but the database belongs in afterCommit or an external processor`,
    null,
    error,
  );
}
