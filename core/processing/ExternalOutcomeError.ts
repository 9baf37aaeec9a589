/**
 * An external handler's outcome contradicts its batch: a `done` that is not a
 * whole number from 0 to the batch's size (NaN from a count of something
 * missing, say), every item done with an error, which says why the rest is
 * not when there is no rest, or a BatchItemError naming an item other than the
 * one it stops at (one of the `done` items, or none of the batch's), which the
 * status would show as failed and a resume would never try again. Taken as it was, the first would count as
 * interrupted without an error and be retried, effects and all, until the
 * run's deadline; the second would drop its error unseen. It is a bug in the
 * handler, and ends the run like an error the handler throws.
 */
export class ExternalOutcomeError extends Error {
  readonly code = 'INVALID_EXTERNAL_OUTCOME';
  constructor(
    readonly processor: string,
    readonly done: unknown,
    readonly batchSize: number,
    /** The error the handler gave beside that `done`, if any. */
    givenError?: unknown,
    /** For a BatchItemError naming another item: what it must name (the first item not done, or any of the batch's, thrown). */
    mustName?: string,
  ) {
    super(
      mustName !== undefined
        ? `${processor}: the handler gave up with a BatchItemError naming ${String((givenError as { itemId?: unknown } | undefined)?.itemId)}, which must name ${mustName}, or none (null)`
        : done === batchSize && givenError !== undefined
        ? `${processor}: the handler said it handled all ${batchSize} items of its batch, and gave an error; an error says why the rest is not handled: return done short of the batch with it, or no error`
        : `${processor}: the handler said it handled ${String(done)} items of a batch of ${batchSize}; done must be a whole number from 0 to ${batchSize}`,
      givenError === undefined ? undefined : { cause: givenError },
    );
    this.name = 'ExternalOutcomeError';
  }
}
