import { DeletionStoppedError } from '../db';
import { describeError } from '../errors';

/** A step's failure: one that stopped part-way keeps its own message, which says what it deleted before its cause. */
const describeStep = (error: unknown): string => (error instanceof DeletionStoppedError ? `${error.name}: ${error.message}` : describeError(error));

/** The steps of the scheduled retention run, in the order it runs them. */
export const RETENTION_STEPS = ['commands', 'processedMessages'] as const;

/** A step of the scheduled retention run. */
export type RetentionStep = (typeof RETENTION_STEPS)[number];

/**
 * A retention run in which a step failed, thrown once every step has run: what
 * each step deleted for good is in `deleted` (for a failed one, what its
 * batches before the failure committed: none in a caller's transaction, whose
 * savepoint undid them), and each failure's error in `errors`.
 */
export class RetentionFailedError extends Error {
  readonly code = 'RETENTION_FAILED';
  readonly failed: RetentionStep[];

  constructor(
    readonly errors: ReadonlyMap<RetentionStep, unknown>,
    readonly deleted: Readonly<Record<RetentionStep, number>>,
  ) {
    const failed = [...errors.keys()];
    super(`retention failed at ${[...errors].map(([step, error]) => `${step}: ${describeStep(error)}`).join('; ')}`, { cause: errors.get(failed[0] ?? 'commands') });
    this.name = 'RetentionFailedError';
    this.failed = failed;
  }
}
