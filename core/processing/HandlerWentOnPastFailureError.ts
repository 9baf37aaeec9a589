import { thrownMessage } from '../errors';
import type { BatchRetry } from './BatchItemError';

/**
 * A handler went on past a failed statement, so its batch's transaction could
 * not commit. `retry` is the first failure's: a deadlock or a serialization
 * failure passes by itself, any other is counted under the failure policy.
 */
export class HandlerWentOnPastFailureError extends Error {
  constructor(
    firstFailure: unknown,
    readonly retry: BatchRetry,
  ) {
    super(
      'A statement of the batch failed and the handler went on past it: PostgreSQL refuses every statement after that until the transaction ends, ' +
        'so the batch cannot commit. To go on past a statement that may fail, run it in a savepoint (inSavepoint from core/db)' +
        (firstFailure === undefined ? '' : `. The first failure: ${thrownMessage(firstFailure)}`),
      { cause: firstFailure },
    );
    this.name = 'HandlerWentOnPastFailureError';
  }
}
