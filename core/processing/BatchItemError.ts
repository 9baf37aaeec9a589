/**
 * A processor's handler failed on a batch, and on this item if it can say
 * which. The engine rolls the batch back, records the failure on the
 * partition and retries after a backoff; other errors end the run.
 */
export class BatchItemError extends Error {
  readonly code: string = 'BATCH_HANDLER_FAILED';
  constructor(
    message: string,
    readonly itemId: string | null,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'BatchItemError';
  }
}
