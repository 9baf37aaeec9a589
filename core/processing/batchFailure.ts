import { refusedInFailedTransaction } from '../db';
import { thrownMessage } from '../errors';
import { BatchItemError, retryOfFailures } from './BatchItemError';
import { HandlerWentOnPastFailureError } from './HandlerWentOnPastFailureError';
import { PartitionLeaseLostError } from './PartitionLease';
import { innermostErrors, someWrapped } from './wrappedErrors';

/**
 * A failed batch's error as the engine counts it: the handler's BatchItemError,
 * or, when a statement was refused because the transaction had already failed,
 * a failure of the batch as a whole, with no item and under the failure policy.
 * A handler caught an earlier statement's failure and went on; its next
 * statement, or the engine's own checkpoint, was refused. That refusal says
 * nothing of the item it came on (nor does a retry choice made on it), nor of
 * the engine: counted on the partition like the handler's own error, it holds
 * back only that partition. Null for any other error, which is not the batch's.
 */
export function batchFailureOf(error: unknown): BatchItemError | null {
  if (someWrapped(error, refusedInFailedTransaction)) {
    // The failures before the refusals decide: gone on past deadlocks or serialization failures
    // only, the batch tried again may well pass.
    const retry = retryOfFailures(error);
    const [first] = innermostErrors(error, () => false).failures.filter((failure) => !refusedInFailedTransaction(failure));
    const cause = new HandlerWentOnPastFailureError(first, retry);
    return new BatchItemError(cause.message, null, cause, retry);
  }
  return error instanceof BatchItemError ? error : null;
}

/**
 * What a transactional handler threw, as its batch's failure: a
 * BatchItemError as it is, and any other error (a bug of the handler's, a
 * statement PostgreSQL refused) as a failure of the batch with no item,
 * under the failure policy. Left to end the run, such an error was recorded
 * nowhere, and every run met it again on the same partition, before the
 * partitions after it. A lost lease (the handler's fenced write) stays one.
 */
export function handlerFailure(processor: string, error: unknown): BatchItemError | PartitionLeaseLostError {
  if (error instanceof BatchItemError || error instanceof PartitionLeaseLostError) return error;
  return new BatchItemError(`${processor}: the handler failed on its batch: ${thrownMessage(error)}`, null, error);
}
