import type { Db } from '../db';
import { describeError } from '../errors';
import { compareCheckpoints, type Checkpoint } from '../eventstore';
import { BatchItemError } from './BatchItemError';
import { ExternalOutcomeError, type MisnamedItem } from './ExternalOutcomeError';
import type { BatchOutcome } from './batchOutcome';
import { deadlineSignal } from './deadlineSignal';
import type { ExternalBatchContext, ExternalHandler, ExternalOutcome, FeedProcessor } from './FeedProcessor';
import { fencedWrites } from './fencedWrites';
import type { SourcePage } from './FeedSource';
import { PartitionLeaseLostError, type PartitionLease } from './PartitionLease';
import { countFailedBatchApart, recordInterruption } from './failureRecords';
import { externalBatchGate } from './externalBatchGate';
import { advanceCheckpointFenced, isProcessorStopped, readPartition } from './processorRecords';

/**
 * The item a BatchItemError names and what it must name instead, or undefined when it
 * names the right one (or none): returned, the first item not done, where the partition
 * stops; thrown (nothing said of what was done), any item of the batch.
 */
function misnamedItem(error: BatchItemError, ids: readonly string[], done: number, thrown: boolean): MisnamedItem | undefined {
  const named = error.itemId;
  if (named === null) return undefined;
  if (thrown) return ids.includes(named) ? undefined : { named, mustName: 'an item of its batch' };
  const stopsAt = ids[done];
  return named === stopsAt ? undefined : { named, mustName: `${String(stopsAt)}, the first item not done` };
}

/** Marks a promise handled now; awaiting it later still throws. */
function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The batches of one external partition drain. */
export interface ExternalBatches {
  /** The next batch, on the partition's lease as last renewed. */
  next(lease: PartitionLease): Promise<BatchOutcome>;
  /**
   * Settles once no page read is running. A drain that ends before handling the
   * page it read ahead (at its deadline, its lease lost, its handler's error)
   * waits for it: left running, it would hold a pooled connection past the run,
   * into the frozen time after a Lambda invocation returns, or the next one's.
   */
  readsSettled(): Promise<void>;
  /** Whether a page read is running. */
  reading(): boolean;
}

/**
 * The batches of one external partition drain, `next` called once per
 * batch. The effects happen outside the database (publishing), so the
 * checkpoint is stored after them, fenced by the lease, in one statement. The
 * next page is read while the current one is handled; each is handled only if
 * no one took the partition over since (externalBatchGate). After an interruption,
 * or a batch that stopped short at its deadline, the drain starts again from
 * the stored checkpoint.
 *
 * Nothing renews the lease while a batch works outside the database, so a
 * batch's deadline is half a lease from its start (the drain renews the lease
 * before each batch), or the run's if sooner. A batch that outlasted its lease
 * would lose its partition to any other instance running then, which would
 * start the same batch from the same checkpoint and lose it in turn: the
 * checkpoint would not move while instances overlap, and the batch's effects
 * would repeat each time. Stopped short at half a lease, it stores what it did
 * while its lease still holds, and the next batch goes on from there.
 */
export function externalBatches<Item>(
  db: Db,
  processor: FeedProcessor<Item>,
  handler: ExternalHandler<Item>,
  limits: { deadline: number; leaseTtlMs: number },
): ExternalBatches {
  let stored: { checkpoint: Checkpoint; caughtUp: boolean; failing: boolean } | undefined;
  let ahead: Promise<SourcePage<Item>> | undefined;
  // Pages left in a row because the look at the lease came past half of it.
  let deferredInARow = 0;
  const partitionOf = (lease: PartitionLease) => ({ index: lease.partition, count: processor.partitions });
  // Each page read until it settles: one read ahead may outlive the drain (see readsSettled).
  const reading = new Set<Promise<unknown>>();
  const read = (lease: PartitionLease, after: Checkpoint) => {
    const page = quietly(processor.source.read(db, { after, limit: processor.batchSize, partition: partitionOf(lease) }));
    reading.add(page);
    const settled = () => reading.delete(page);
    page.then(settled, settled);
    return page;
  };
  // Shown in the status (failing to say so must not stop the retry), and waited out by the
  // drain; the next batch that handles its whole page stores its checkpoint, ending the streak.
  const interrupted = async (lease: PartitionLease, items: number, error: unknown): Promise<BatchOutcome> => {
    await recordInterruption(db, lease, describeError(error)).catch(() => undefined);
    stored = stored && { ...stored, failing: true };
    return { kind: 'interrupted', items, error };
  };

  // A handler's own error, or an outcome that makes no sense, ends the run, and every run
  // meets it again on the same batch: the partition's status says so, as it says an
  // interruption (retried by each run, never failed), rather than showing nothing wrong.
  const endingTheRun = async (lease: PartitionLease, error: unknown): Promise<unknown> => {
    await recordInterruption(db, lease, `${processor.name}: the handler's error ended the run: ${describeError(error)}`).catch(() => undefined);
    return error;
  };

  const next = async (lease: PartitionLease): Promise<BatchOutcome> => {
    // From the batch's start, just after the drain renewed the lease: a slow page read counts.
    const startedAt = Date.now();
    const halfLeaseGone = startedAt + limits.leaseTtlMs / 2;
    const deadline = Math.min(limits.deadline, halfLeaseGone);
    if (!stored) {
      const state = await readPartition(db, processor.name, lease.partition);
      if (!state || state.stopped) return { kind: 'inactive' };
      if (state.state === 'failed') return { kind: 'failed' };
      // A wait the failure policy recorded (lost holders in a row) holds external batches too.
      if (state.waitUntil) return { kind: 'waiting', until: state.waitUntil };
      stored = { checkpoint: state.checkpoint, caughtUp: state.caughtUp, failing: state.failing };
    }
    const from = stored;
    let page: SourcePage<Item> | BatchItemError;
    try {
      page = await (ahead ?? read(lease, from.checkpoint));
    } catch (error) {
      ahead = undefined;
      if (!(error instanceof BatchItemError)) throw error;
      page = error;
    }
    const gate = await externalBatchGate(db, processor.name, lease);
    if (gate !== 'open') {
      ahead = undefined;
      // Stopped since the drain began (a transactional batch learns it from its lock): no batch after it, nor a retry.
      return gate === 'taken_over' ? { kind: 'lease_lost' } : { kind: 'inactive' };
    }
    // The read and the look waited for pooled connections, perhaps past the run's deadline.
    // Unlike a transactional drain's, a first batch is not let through: its handler's
    // deadline, and its signal, would have passed before it began.
    if (Date.now() >= limits.deadline) {
      ahead = undefined;
      return { kind: 'past_deadline' };
    }
    // Answered past half the lease (a slow read, or a process frozen while the answer came):
    // the lease may have run out and been taken over since the look. The page is left to the
    // next batch, whose renewal says whether the lease still holds. It is kept, not read
    // again: a read that always took half a lease would otherwise never be handled.
    if (Date.now() >= halfLeaseGone) {
      ahead = quietly(page instanceof BatchItemError ? Promise.reject(page) : Promise.resolve(page));
      deferredInARow += 1;
      if (deferredInARow === 1) return { kind: 'deferred' };
      // A kept page's look came late too: the database answers slower than the lease allows
      // for, and no page can be handled under it. Said as an interruption, waited out and shown.
      return interrupted(
        lease,
        0,
        new Error(`the look at the lease was answered ${Date.now() - startedAt} ms into the batch, past half the lease (${limits.leaseTtlMs / 2} ms): the database is slower than the lease allows for`),
      );
    }
    deferredInARow = 0;
    // An item the source cannot hand over (an event no upcaster reads) fails the batch under the failure policy.
    if (page instanceof BatchItemError) return countFailedBatchApart(db, processor, lease, page);
    ahead = page.caughtUp ? undefined : read(lease, page.checkpoint);
    const { items } = page;
    let outcome: ExternalOutcome = { done: 0 };
    // When the handler answered: storing its checkpoint may wait for a connection past the
    // deadline, which must not turn a handler that stopped short early into one the deadline stopped.
    let answeredAt = Date.now();
    let thrown = false;
    try {
      if (items.length > 0) {
        const signal = deadlineSignal(deadline);
        const context: ExternalBatchContext = {
          partition: lease.partition,
          partitions: processor.partitions,
          deadline,
          fenced: fencedWrites(db, lease, limits.leaseTtlMs),
          get signal() {
            return signal();
          },
        };
        outcome = await handler.handle(items, context);
        answeredAt = Date.now();
      }
    } catch (error) {
      // A BatchItemError thrown says nothing of what was done: the batch is tried again whole.
      if (error instanceof BatchItemError) {
        outcome = { done: 0, error };
        thrown = true;
      } else if (error instanceof PartitionLeaseLostError) {
        ahead = undefined;
        return { kind: 'lease_lost' };
      } else throw await endingTheRun(lease, error);
    }
    // From JavaScript, a handler that forgot its return resolves to undefined; an error of null is none.
    const given = outcome as Partial<ExternalOutcome> | null | undefined;
    const done = given?.done;
    const error = given?.error ?? undefined;
    if (done === undefined || !Number.isSafeInteger(done) || done < 0 || done > items.length) throw await endingTheRun(lease, new ExternalOutcomeError(processor.name, done, items.length, error));
    const whole = done === items.length;
    if (whole && error !== undefined) throw await endingTheRun(lease, new ExternalOutcomeError(processor.name, done, items.length, error));
    const misnamed = error instanceof BatchItemError ? misnamedItem(error, items.map((item) => processor.source.idOf(item)), done, thrown) : undefined;
    if (misnamed !== undefined) throw await endingTheRun(lease, new ExternalOutcomeError(processor.name, done, items.length, error, misnamed));
    const last = items[done - 1];
    const checkpoint = whole ? page.checkpoint : last === undefined ? from.checkpoint : processor.source.positionOf(last);
    const caughtUp = whole && page.caughtUp;
    // A batch that ends a failure streak stores its checkpoint even if it did not move.
    if (compareCheckpoints(checkpoint, from.checkpoint) !== 0 || (caughtUp && !from.caughtUp) || (whole && from.failing)) {
      if (!(await advanceCheckpointFenced(db, lease, from.checkpoint, { checkpoint, items: done, caughtUp }))) {
        ahead = undefined;
        return { kind: 'lease_lost' };
      }
      stored = { checkpoint, caughtUp: from.caughtUp || caughtUp, failing: false };
    }
    if (!whole && error === undefined && answeredAt >= deadline) {
      // Stopped short at its deadline: nothing went wrong, the rest is the next batch's (the next run's, past the run's deadline).
      ahead = undefined;
      return { kind: 'applied', items: done, checkpoint, caughtUp: false };
    }
    if (!whole) {
      ahead = undefined;
      // Stopped while the batch was out: no retry will come, so none is announced, waited for or shown.
      // A database away as well is asked again by the retry, which it must not stop.
      if (await isProcessorStopped(db, processor.name).catch(() => false)) return { kind: 'applied', items: done, checkpoint, caughtUp: false };
      // An item the handler gives up on (a destination that refuses it for good): under the failure policy.
      if (error instanceof BatchItemError) {
        const counted = await countFailedBatchApart(db, processor, lease, error);
        // Taken over (or stopped) after the items done were stored: they count all the same.
        if (counted.kind === 'handler_failed' || counted.kind === 'lease_lost' || counted.kind === 'inactive') return { ...counted, items: done };
        return counted;
      }
      return interrupted(lease, done, error ?? new Error('the handler stopped short of its batch without saying why'));
    }
    return { kind: 'applied', items: done, checkpoint, caughtUp: page.caughtUp };
  };
  const readsSettled = async (): Promise<void> => {
    await Promise.allSettled([...reading]);
  };
  return { next, readsSettled, reading: () => reading.size > 0 };
}
