import { abortedByOtherWriter, refusedInFailedTransaction } from '../db';
import { HandlerWentOnPastFailureError } from './HandlerWentOnPastFailureError';
import { innermostErrors, someWrapped } from './wrappedErrors';

/**
 * How a failed batch is retried: under the processor's failure policy, which
 * gives up after its attempts; or without end, at most its maximum delay apart,
 * for a failure that passes by itself (an event stored by newer code, read
 * while a deploy rolls out).
 */
export type BatchRetry = 'failure_policy' | 'until_it_passes';

const RETRIES: readonly unknown[] = ['failure_policy', 'until_it_passes'] satisfies BatchRetry[];

/**
 * A processor's handler failed on a batch, and on this item if it can say
 * which. The engine rolls the batch back, records the failure on the
 * partition and retries after a backoff. A transactional handler's other
 * errors are counted as one of these with no item. A `retry` that is neither
 * way (misspelt, from JavaScript or a config) is refused with a TypeError:
 * stored, it would fail the very statement that counts the failure.
 */
export class BatchItemError extends Error {
  readonly code: string = 'BATCH_HANDLER_FAILED';
  readonly retry: BatchRetry;
  constructor(
    message: string,
    readonly itemId: string | null,
    override readonly cause: unknown,
    retry: BatchRetry = retryOf(cause),
  ) {
    if (!RETRIES.includes(retry)) {
      const given: unknown = retry;
      throw new TypeError(`A batch's retry must be 'failure_policy' or 'until_it_passes', not ${typeof given === 'string' ? JSON.stringify(given) : typeof given}`);
    }
    super(message);
    this.name = 'BatchItemError';
    this.retry = retry;
  }
}

// A handler's own BatchItemError keeps its retry, unless it was made on PostgreSQL's refusal
// after an earlier failure: that says nothing of the item, nor does a choice made on it.
const speaksForItself = (error: unknown) =>
  abortedByOtherWriter(error) || error instanceof HandlerWentOnPastFailureError || (error instanceof BatchItemError && !someWrapped(error.cause, refusedInFailedTransaction));

/**
 * How a batch that failed with these failures is retried: as its failures
 * say, those it threw as one or applied each on its own (eachOnItsOwn), or
 * wrapped. A deadlock or a serialization failure says nothing about the batch:
 * counting them would let a busy moment mark a partition failed. PostgreSQL's
 * refusals after a failure say nothing at all. Any other failure, or one the
 * bounded walk did not reach, puts the batch under the failure policy.
 */
export function retryOfFailures(error: unknown): BatchRetry {
  const { failures, whole } = innermostErrors(error, speaksForItself);
  const said = failures.filter((failure) => !refusedInFailedTransaction(failure));
  const passing = (failure: unknown) => (failure instanceof BatchItemError || failure instanceof HandlerWentOnPastFailureError ? failure.retry === 'until_it_passes' : abortedByOtherWriter(failure));
  return whole && said.length > 0 && said.every(passing) ? 'until_it_passes' : 'failure_policy';
}

/** How a batch that failed with this cause is retried when its handler does not say. */
function retryOf(cause: unknown): BatchRetry {
  return cause instanceof BatchItemError ? cause.retry : retryOfFailures(cause);
}
