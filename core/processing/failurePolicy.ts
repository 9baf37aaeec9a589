/** How a partition whose handler fails is retried before it is marked failed. */
export interface FailurePolicy {
  /** Attempts (the first one included) before the partition is marked failed; Infinity never gives up. */
  maxAttempts: number;
  /** The wait after the first failure; it doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 60_000 };
