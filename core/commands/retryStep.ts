import type { CommandStep } from './pipeline';
import { withRetry, type RetryPolicy } from './retryPolicy';

/**
 * Runs the rest of the pipeline again after transient failures. Placed outside
 * the idempotency step, so every try first checks whether an earlier one (or a
 * racing duplicate) already produced the outcome.
 */
export function retryStep(policy: RetryPolicy, onRetry?: (error: unknown, attempt: number) => void): CommandStep {
  return (envelope, next) => withRetry(policy, (attempt) => next({ ...envelope, attempt }), onRetry);
}
