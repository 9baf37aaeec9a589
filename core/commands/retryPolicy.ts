import { asDatabaseError, DatabaseTimeoutError, isDatabaseUnavailable } from '../db';
import { ConcurrencyError } from '../eventstore';
import { isRefusal } from './isRefusal';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The delay before the second try; it doubles each time up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Full jitter: wait a random time up to the delay, so colliding writers spread out. */
  jitter: boolean;
  /** Which failures are worth another try. */
  isTransient: (error: unknown) => boolean;
}

// Serialization failure, deadlock: another try runs without the other writer.
const CONFLICT_SQLSTATES = new Set(['40001', '40P01']);

/**
 * Concurrency conflicts and failures of the database or the way to it, but a
 * database that did not answer in time. Never validation or domain errors:
 * another try would fail the same way.
 */
export function isTransientFailure(error: unknown): boolean {
  if (error instanceof ConcurrencyError) return true;
  // A database that let a statement wait out its bound would make each try wait
  // as long again: the caller hears at once, and sends the command again by its id.
  if (error instanceof DatabaseTimeoutError) return false;
  if (isRefusal(error)) return false;
  return CONFLICT_SQLSTATES.has(asDatabaseError(error)?.code ?? '') || isDatabaseUnavailable(error);
}

// Generous enough for a hot aggregate: 50 commands racing on one account all land.
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 20,
  baseDelayMs: 5,
  maxDelayMs: 200,
  jitter: true,
  isTransient: isTransientFailure,
};

/** How long to wait before try number `attempt + 1` (attempt counts from 1). */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return policy.jitter ? random() * ceiling : ceiling;
}

/** Runs `work`, trying again after transient failures as the policy allows; the last failure is thrown. */
export async function withRetry<T>(
  policy: RetryPolicy,
  work: (attempt: number) => Promise<T>,
  onRetry: (error: unknown, attempt: number) => void = () => undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !policy.isTransient(error)) throw error;
      onRetry(error, attempt);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(policy, attempt)));
    }
  }
}
