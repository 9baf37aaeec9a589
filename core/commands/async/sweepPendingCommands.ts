import { MAX_POSTGRES_INTEGER, type Queryable } from '../../db';
import type { CommandDispatcher, ErrorReporter } from './CommandDispatcher';

export interface SweepOptions {
  /** Re-dispatch commands pending (untouched) this long: longer than a run takes, or live runs get duplicates. */
  olderThanMs: number;
  /** At most this many commands per sweep. */
  limit: number;
  /** A command already counted this many attempts is marked failed instead of dispatched again. */
  maxAttempts: number;
}

// Two minutes: past a worker Lambda's usual timeout, so a run still going is rarely dispatched again.
export const DEFAULT_SWEEP_OPTIONS: SweepOptions = { olderThanMs: 120_000, limit: 100, maxAttempts: 5 };

export interface SweepResult {
  /** Claimed and handed to the dispatcher again. */
  redispatched: string[];
  /** Given up on: marked failed with `MAX_ATTEMPTS_EXCEEDED`. */
  failed: string[];
}

// One statement claims the stale rows and bumps updated_at, so a concurrent sweep
// either skips them (locked) or, re-checking them once this one commits, finds
// them fresh: each is dispatched by one sweep. Those out of attempts are failed
// in the same statement, keeping their last error as the cause.
const CLAIM_SQL = `
  WITH stale AS (
    SELECT command_id FROM commands
    WHERE status = 'pending' AND updated_at <= now() - $1::double precision * interval '1 millisecond'
    ORDER BY updated_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
  )
  UPDATE commands AS c SET
    updated_at = now(),
    attempts = CASE WHEN c.attempts >= $3 THEN c.attempts ELSE c.attempts + 1 END,
    status = CASE WHEN c.attempts >= $3 THEN 'failed' ELSE 'pending' END,
    error = CASE WHEN c.attempts >= $3 THEN jsonb_build_object(
        'code', 'MAX_ATTEMPTS_EXCEEDED',
        'message', format('Still pending after %s attempts; the sweep gave up', c.attempts),
        'details', jsonb_strip_nulls(jsonb_build_object('attempts', c.attempts, 'lastError', c.error)))
      ELSE c.error END
  FROM stale WHERE c.command_id = stale.command_id
  RETURNING c.command_id, c.status`;

// What the claim can hold: attempts are compared with an integer column, and now() less
// the age must stay a timestamp. Past these PostgreSQL fails the claim itself. The page
// size is a bigint, any whole number JavaScript holds exactly.
const MAX_AGE_MS = 100 * 365.25 * 24 * 60 * 60 * 1000;

function checked(options: SweepOptions): SweepOptions {
  const { olderThanMs, limit, maxAttempts } = options;
  if (!(Number.isFinite(olderThanMs) && olderThanMs >= 0 && olderThanMs <= MAX_AGE_MS)) throw new RangeError(`olderThanMs must be a number from 0 to ${MAX_AGE_MS} (a hundred years)`);
  if (!(Number.isSafeInteger(limit) && limit > 0)) throw new RangeError('limit must be a positive safe integer');
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 0 && maxAttempts <= MAX_POSTGRES_INTEGER)) throw new RangeError(`maxAttempts must be an integer from 0 to ${MAX_POSTGRES_INTEGER}`);
  return options;
}

/**
 * Re-dispatches commands left pending by a lost invoke or a crashed worker,
 * and gives up on those out of attempts. A command dispatched twice (the sweep
 * and a late worker) still has one effect: the bus's idempotency sees to it.
 * Run it on a schedule; a failed re-dispatch is reported and left for the next sweep.
 */
export function sweepPendingCommandsWith(db: Queryable, dispatcher: CommandDispatcher, onDispatchError: ErrorReporter) {
  return async (options: Partial<SweepOptions> = {}): Promise<SweepResult> => {
    const { olderThanMs, limit, maxAttempts } = checked({ ...DEFAULT_SWEEP_OPTIONS, ...options });
    const { rows } = await db.query<{ command_id: string; status: 'pending' | 'failed' }>(CLAIM_SQL, [
      olderThanMs,
      limit,
      maxAttempts,
    ]);
    const redispatched = rows.filter((row) => row.status === 'pending').map((row) => row.command_id);
    const failed = rows.filter((row) => row.status === 'failed').map((row) => row.command_id);
    await Promise.all(
      redispatched.map((commandId) =>
        dispatcher.dispatch(commandId).catch((error: unknown) => {
          onDispatchError(error, commandId);
        }),
      ),
    );
    return { redispatched, failed };
  };
}
