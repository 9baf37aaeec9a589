import { asDatabaseError } from '../db';
import { BatchItemError } from './BatchItemError';

// PostgreSQL's answer to every statement after one that failed, until the transaction ends.
const IN_FAILED_TRANSACTION = '25P02';

const refusedAfterAFailure = (error: unknown) => asDatabaseError(error)?.code === IN_FAILED_TRANSACTION;

const HANDLER_WENT_ON =
  'A statement of the batch failed and the handler went on past it: PostgreSQL refuses every statement after that until the transaction ends, ' +
  'so the batch cannot commit. To go on past a statement that may fail, run it in a savepoint (inSavepoint from core/db)';

/**
 * A failed batch's error as the engine counts it: the handler's BatchItemError,
 * or, when a statement was refused because the transaction had already failed,
 * a failure of the batch as a whole. A handler caught an earlier statement's
 * failure and went on; its next statement, or the engine's own checkpoint, was
 * refused. That refusal says nothing of the event it came on, nor of the
 * engine: counted on the partition like the handler's own error, it holds back
 * only that partition. Null for any other error, which is not the batch's.
 */
export function batchFailureOf(error: unknown): BatchItemError | null {
  const refused = error instanceof BatchItemError ? refusedAfterAFailure(error.cause) : refusedAfterAFailure(error);
  if (refused) return new BatchItemError(HANDLER_WENT_ON, null, null, 'failure_policy');
  return error instanceof BatchItemError ? error : null;
}
