import type { Queryable } from '../db';
import type { FailurePolicy } from './failurePolicy';
import type { FeedSource } from './FeedSource';

export interface BatchContext {
  partition: number;
  partitions: number;
}

export interface TransactionalBatchContext extends BatchContext {
  /** The batch's transaction: the checkpoint is stored in it, after the handler. */
  tx: Queryable;
}

/**
 * Effects written in the database, in the transaction that stores the
 * checkpoint: each item's effect is kept exactly once, whatever crashes.
 */
export interface TransactionalHandler<Item, Result> {
  mode: 'transactional';
  /** Throw a BatchItemError to fail the batch: nothing of it is kept, and it is retried after a backoff. */
  handle(items: readonly Item[], context: TransactionalBatchContext): Promise<Result>;
  /** After the batch committed: work that must follow the commit (a saga's commands). */
  afterCommit?(result: Result): Promise<void>;
}

/** Runs `work` in a transaction unless the partition was taken over; then throws PartitionLeaseLostError and writes nothing. */
export type FencedWrites = <T>(work: (tx: Queryable) => Promise<T>) => Promise<T>;

export interface ExternalBatchContext extends BatchContext {
  /**
   * Epoch ms: a batch that works in steps starts none after it, and says how
   * far it got. Half a lease from the batch's start, or the run's deadline if
   * sooner: nothing renews the lease while the batch works.
   */
  deadline: number;
  /**
   * Aborted at `deadline`: pass it to a call that may hang (`fetch(url, { signal })`),
   * so one item's call cannot hold the batch past its lease.
   */
  signal: AbortSignal;
  /**
   * For what the batch records in the database beside its effects (a message
   * parked): a holder that stalled while another took its partition over must
   * not record what the other has since done otherwise. A batch whose writes
   * are refused ends the drain as one that lost its lease.
   */
  fenced: FencedWrites;
}

/**
 * How far an external batch got: its first `done` items are handled (in source
 * order). Fewer than all with an error is an interruption, retried after a
 * backoff; fewer than all without one is a batch that stopped short at the
 * deadline: its checkpoint is stored, and the rest is the next batch's.
 */
export interface ExternalOutcome {
  done: number;
  /**
   * Why the rest is not: a passing failure (NATS unreachable), retried after a
   * backoff; or a BatchItemError, naming the item the handler gives up on,
   * counted under the failure policy. With no rest (every item done), an
   * ExternalOutcomeError. Null is none.
   */
  error?: unknown;
}

/**
 * Effects outside the database (publishing to NATS): the checkpoint is stored
 * after them, so a crash in between repeats them, and they must be idempotent.
 */
export interface ExternalHandler<Item> {
  mode: 'external';
  handle(items: readonly Item[], context: ExternalBatchContext): Promise<ExternalOutcome>;
}

/** What a feed processor is: a source read in leased partitions, and what it does with each batch. */
export interface FeedProcessor<Item, Result = unknown> {
  /** Its checkpoints' and its leases' key: one per processor (and per projection build). */
  name: string;
  partitions: number;
  batchSize: number;
  source: FeedSource<Item>;
  handler: TransactionalHandler<Item, Result> | ExternalHandler<Item>;
  failurePolicy: FailurePolicy;
}
