/**
 * An external handler said it handled a number of items that is not a whole
 * number from 0 to its batch's size (NaN from a count of something missing,
 * say). Taken as it was, the batch would count as interrupted without an
 * error and be retried, effects and all, until the run's deadline; it is a bug
 * in the handler, and ends the run like an error the handler throws.
 */
export class ExternalOutcomeError extends Error {
  readonly code = 'INVALID_EXTERNAL_OUTCOME';
  constructor(
    readonly processor: string,
    readonly done: unknown,
    readonly batchSize: number,
  ) {
    super(`${processor}: the handler said it handled ${String(done)} items of a batch of ${batchSize}; done must be a whole number from 0 to ${batchSize}`);
    this.name = 'ExternalOutcomeError';
  }
}
