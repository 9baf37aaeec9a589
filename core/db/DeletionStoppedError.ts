import { describeError } from '../errors';

/**
 * A batched deletion whose batch failed after earlier ones had deleted rows:
 * how many they deleted, and the failure as its cause. On a pool each batch
 * commits on its own, so those rows are gone for good; in a caller's
 * transaction they go or stay with it.
 */
export class DeletionStoppedError extends Error {
  readonly code = 'DELETION_STOPPED';

  constructor(
    readonly deleted: number,
    cause: unknown,
  ) {
    super(`stopped after deleting ${deleted} rows: ${describeError(cause)}`, { cause });
    this.name = 'DeletionStoppedError';
  }
}
