/** A BatchItemError's item, and the item it must name instead. */
export interface MisnamedItem {
  named: string;
  mustName: string;
}

function outcomeProblem(processor: string, done: unknown, batchSize: number, givenError: unknown, misnamed: MisnamedItem | undefined): string {
  if (misnamed !== undefined) return `${processor}: the handler gave up with a BatchItemError naming ${misnamed.named}, which must name ${misnamed.mustName}, or none (null)`;
  if (done === batchSize && givenError !== undefined) {
    return `${processor}: the handler said it handled all ${batchSize} items of its batch, and gave an error; an error says why the rest is not handled: return done short of the batch with it, or no error`;
  }
  return `${processor}: the handler said it handled ${String(done)} items of a batch of ${batchSize}; done must be a whole number from 0 to ${batchSize}`;
}

/**
 * An external handler's outcome contradicts its batch: a `done` that is not a
 * whole number from 0 to the batch's size (NaN from a count of something
 * missing, say), every item done with an error, which says why the rest is
 * not when there is no rest, or a BatchItemError naming an item other than the
 * one it stops at. Taken as it was, the first would count as interrupted
 * without an error and be retried, effects and all, until the run's deadline;
 * the second would drop its error unseen; the third would mark the partition
 * failed on an item a resume never tries again. It is a bug in the handler,
 * and ends the run like an error the handler throws.
 */
export class ExternalOutcomeError extends Error {
  readonly code = 'INVALID_EXTERNAL_OUTCOME';
  constructor(
    readonly processor: string,
    readonly done: unknown,
    readonly batchSize: number,
    /** The error the handler gave beside that `done`, if any. */
    givenError?: unknown,
    /** For a BatchItemError naming another item than the one it stops at. */
    misnamed?: MisnamedItem,
  ) {
    super(
      outcomeProblem(processor, done, batchSize, givenError, misnamed),
      givenError === undefined ? undefined : { cause: givenError },
    );
    this.name = 'ExternalOutcomeError';
  }
}
