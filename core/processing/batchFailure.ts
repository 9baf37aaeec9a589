import { asDatabaseError } from '../db';
import { thrownMessage } from '../errors/thrownText';
import { BatchItemError } from './BatchItemError';
import { PartitionLeaseLostError } from './PartitionLease';

// PostgreSQL's answer to every statement after one that failed, until the transaction ends.
const IN_FAILED_TRANSACTION = '25P02';
// How far down a chain of causes the refusal is looked for: wrappers wrap wrappers, not without end.
const CAUSES_LOOKED_THROUGH = 8;
// And how many errors at each depth: an AggregateError of a whole batch's items is as long as the batch.
const ERRORS_LOOKED_THROUGH_PER_LEVEL = 1_000;

/** A handler went on past a failed statement, so its batch's transaction could not commit. */
export class HandlerWentOnPastFailureError extends Error {
  constructor() {
    super(
      'A statement of the batch failed and the handler went on past it: PostgreSQL refuses every statement after that until the transaction ends, ' +
        'so the batch cannot commit. To go on past a statement that may fail, run it in a savepoint (inSavepoint from core/db)',
    );
    this.name = 'HandlerWentOnPastFailureError';
  }
}

/**
 * Whether an error, or one of the errors it wraps (its cause, or each of an
 * AggregateError's errors: a handler that applied its items with eachOnItsOwn
 * went on past the failed one), is PostgreSQL refusing a statement because an
 * earlier one failed.
 */
function refusedAfterAFailure(error: unknown): boolean {
  let level: unknown[] = [error];
  for (let depth = 0; depth <= CAUSES_LOOKED_THROUGH && level.length > 0; depth++) {
    if (level.some((current) => asDatabaseError(current)?.code === IN_FAILED_TRANSACTION)) return true;
    level = level.flatMap(wrappedBy).slice(0, ERRORS_LOOKED_THROUGH_PER_LEVEL);
  }
  return false;
}

const wrappedBy = (error: unknown): unknown[] => [
  ...(error instanceof AggregateError && Array.isArray(error.errors) ? (error.errors as unknown[]) : []),
  ...(error instanceof Error && error.cause !== undefined && error.cause !== null ? [error.cause] : []),
];

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
  if (refusedAfterAFailure(error)) {
    const cause = new HandlerWentOnPastFailureError();
    return new BatchItemError(cause.message, null, cause, 'failure_policy');
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
