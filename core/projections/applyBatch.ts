import type { Db } from '../db';
import { readFeed, type Checkpoint, type EventUpcaster } from '../eventstore';
import { assertPartitionLeaseHeld, type PartitionLease } from '../leases';
import type { Projection } from './defineProjection';
import { ProjectionHandlerError } from './errors';
import { describeError } from '../errors/describeError';
import { retryDelayMs, type FailurePolicy } from './failurePolicy';
import type { Generation } from './generationRecords';
import { advanceCheckpoint, currentAttempts, lockPartition, recordFailure, type PartitionKey } from './partitionRecords';
import { tableNamesOf } from './projectionNames';

/** What one batch on a leased partition came to. */
export type BatchOutcome =
  | { kind: 'applied'; events: number; checkpoint: Checkpoint; caughtUp: boolean }
  /** A handler failed: nothing of the batch was kept; retried after the wait, or never once failed. */
  | { kind: 'handler_failed'; error: ProjectionHandlerError; state: 'running' | 'failed'; attempts: number }
  /** An earlier failure's wait is not over yet. */
  | { kind: 'waiting'; until: Date }
  /** Marked failed: it stays stopped until resumed. */
  | { kind: 'failed' }
  /** The generation was retired (replaced): nothing more to build. */
  | { kind: 'retired' };

export interface BatchRun {
  db: Db;
  projection: Projection;
  generation: Generation;
  lease: PartitionLease;
  upcaster: EventUpcaster;
  failurePolicy: FailurePolicy;
}

/**
 * Reads the partition's next page of the feed from its checkpoint, applies it
 * and stores the new checkpoint, all in one transaction: the read model has
 * every event's effect exactly once, whatever crashes. The lease is checked
 * inside the transaction, so a holder that lost its lease writes nothing.
 */
export async function applyBatch(run: BatchRun): Promise<BatchOutcome> {
  const { db, projection, generation, lease } = run;
  const key: PartitionKey = { name: projection.name, generation: generation.generation, partition: lease.partition };
  try {
    return await db.transaction(async (tx): Promise<BatchOutcome> => {
      await assertPartitionLeaseHeld(tx, lease);
      const state = await lockPartition(tx, key);
      if (!state || state.generationStatus === 'retired') return { kind: 'retired' };
      if (state.state === 'failed') return { kind: 'failed' };
      if (state.waitUntil) return { kind: 'waiting', until: state.waitUntil };
      const page = await readFeed(
        tx,
        {
          after: state.checkpoint,
          batchSize: projection.batchSize,
          eventTypes: projection.eventTypes,
          ...(projection.streamTypes ? { streamTypes: projection.streamTypes } : {}),
          partition: { index: lease.partition, count: generation.partitions },
        },
        run.upcaster,
      );
      const moved = page.checkpoint.txId !== state.checkpoint.txId || page.checkpoint.position !== state.checkpoint.position;
      if (page.events.length > 0) {
        await projection.apply(page.events, tx, tableNamesOf(projection.name, projection.tables, generation.generation));
      }
      // An idle poll that changes nothing writes nothing.
      if (moved || (page.caughtUp && !state.caughtUp)) {
        await advanceCheckpoint(tx, key, page.checkpoint, page.events.length, page.caughtUp);
      }
      return { kind: 'applied', events: page.events.length, checkpoint: page.checkpoint, caughtUp: page.caughtUp };
    });
  } catch (error) {
    if (!(error instanceof ProjectionHandlerError)) throw error;
    return recordHandlerFailure(run, key, error);
  }
}

/** The batch rolled back; count the attempt, fenced by the lease like the batch itself. */
async function recordHandlerFailure(run: BatchRun, key: PartitionKey, error: ProjectionHandlerError): Promise<BatchOutcome> {
  const { maxAttempts } = run.failurePolicy;
  const recorded = await run.db.transaction(async (tx) => {
    await assertPartitionLeaseHeld(tx, run.lease);
    const failures = (await currentAttempts(tx, key)) + 1;
    return recordFailure(tx, key, {
      error: describeError(error),
      eventId: error.eventId,
      maxAttempts,
      delayMs: retryDelayMs(run.failurePolicy, failures),
    });
  });
  return { kind: 'handler_failed', error, state: recorded.state, attempts: recorded.attempts };
}
