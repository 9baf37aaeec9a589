import { abortedByOtherWriter } from '../db';

/**
 * How a failed batch is retried: under the processor's failure policy, which
 * gives up after its attempts; or without end, at most its maximum delay apart,
 * for a failure that passes by itself (an event stored by newer code, read
 * while a deploy rolls out).
 */
export type BatchRetry = 'failure_policy' | 'until_it_passes';

/**
 * A processor's handler failed on a batch, and on this item if it can say
 * which. The engine rolls the batch back, records the failure on the
 * partition and retries after a backoff. A transactional handler's other
 * errors are counted as one of these with no item.
 */
export class BatchItemError extends Error {
  readonly code: string = 'BATCH_HANDLER_FAILED';
  constructor(
    message: string,
    readonly itemId: string | null,
    override readonly cause: unknown,
    readonly retry: BatchRetry = retryOf(cause),
  ) {
    super(message);
    this.name = 'BatchItemError';
  }
}

/** How a batch that failed with this cause is retried when its handler does not say. */
function retryOf(cause: unknown): BatchRetry {
  if (cause instanceof BatchItemError) return cause.retry;
  // A deadlock or a serialization failure says nothing about the batch: counting
  // them would let a busy moment mark a partition failed.
  return abortedByOtherWriter(cause) ? 'until_it_passes' : 'failure_policy';
}
