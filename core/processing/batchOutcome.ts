import type { Checkpoint } from '../eventstore';
import type { BatchItemError } from './BatchItemError';

/** What one batch on a leased partition came to. */
export type BatchOutcome =
  | { kind: 'applied'; items: number; checkpoint: Checkpoint; caughtUp: boolean }
  /**
   * The handler failed, or the source on an item it cannot hand over: nothing of
   * the batch was kept but, in an external batch, the items done before the one
   * it gave up on (`items`); retried after the wait, or never once failed.
   */
  | { kind: 'handler_failed'; error: BatchItemError; state: 'running' | 'failed'; attempts: number; items: number }
  /**
   * An external batch's page came too late to be handled under its lease (past
   * half of it): kept for the next batch, once the lease is renewed. Nothing
   * was handled, so nothing is said of the destination: an interruption streak goes on.
   */
  | { kind: 'deferred' }
  /** An external batch got part of the way: the rest waits for a backoff. */
  | { kind: 'interrupted'; items: number; error: unknown }
  /**
   * The run's deadline passed while the batch waited for a pooled connection
   * (more drains at once than connections): it read and handled nothing.
   */
  | { kind: 'past_deadline' }
  /** An earlier failure's wait is not over yet. */
  | { kind: 'waiting'; until: Date }
  /** Marked failed: it stays stopped until resumed. */
  | { kind: 'failed' }
  /**
   * The processor no longer wants this partition worked on (a retired projection
   * build). `items`: those an external batch stored before it was found so.
   */
  | { kind: 'inactive'; items?: number }
  /** Another holder has the partition now. `items`: those an external batch stored before it was found taken over. */
  | { kind: 'lease_lost'; items?: number };
