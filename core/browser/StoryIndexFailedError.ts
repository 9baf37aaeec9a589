import type { ProcessorRun } from '../processing';

/**
 * A run of the story indexer that failed a batch, or found its partition
 * failed for good: what the run did before, and why it stopped. The batches
 * before the failure are kept; a later run retries it after the backoff.
 */
export class StoryIndexFailedError extends Error {
  constructor(
    message: string,
    readonly run: ProcessorRun,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'StoryIndexFailedError';
  }
}
