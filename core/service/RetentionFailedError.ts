import { describeError } from '../errors/describeError';

/** A step of the scheduled retention run. */
export type RetentionStep = 'commands' | 'processedMessages';

/**
 * A retention run in which a step failed, thrown once every step has run: what
 * each step deleted is in `deleted` (0 for a failed one, whose deletions were
 * rolled back), and each failure's error in `errors`.
 */
export class RetentionFailedError extends Error {
  readonly code = 'RETENTION_FAILED';
  readonly failed: RetentionStep[];

  constructor(
    readonly errors: ReadonlyMap<RetentionStep, unknown>,
    readonly deleted: Readonly<Record<RetentionStep, number>>,
  ) {
    const failed = [...errors.keys()];
    super(`retention failed at ${[...errors].map(([step, error]) => `${step}: ${describeError(error)}`).join('; ')}`, { cause: errors.get(failed[0] ?? 'commands') });
    this.name = 'RetentionFailedError';
    this.failed = failed;
  }
}
