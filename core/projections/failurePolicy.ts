/** How a partition whose handler fails is retried before it is marked failed. */
export interface FailurePolicy {
  /** Attempts (the first one included) before the partition is marked failed. */
  maxAttempts: number;
  /** The wait after the first failure; it doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 };

/** The wait before the next attempt after `failures` failed ones (1 = the first failure). */
export function retryDelayMs(policy: FailurePolicy, failures: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failures - 1));
}
