// The step dispatcher's and the sweeper's statements. Claims use the database's
// clock: they are about processes, not about the saga's own time.

/**
 * Claims an instance's next pending step, lowest first: an instance's steps run
 * one at a time, in the order they were decided. Nothing is claimed while that
 * step is claimed by another dispatcher or waits out a retry.
 */
export const CLAIM_NEXT_STEP_SQL = `
  UPDATE saga_steps t
  SET claimed_until = now() + make_interval(secs => $3::double precision / 1000), attempts = t.attempts + 1
  FROM (SELECT step FROM saga_steps WHERE saga = $1 AND saga_id = $2 AND status = 'pending' ORDER BY step LIMIT 1) AS next,
       saga_instances i
  WHERE t.saga = $1 AND t.saga_id = $2 AND t.step = next.step
    AND i.saga = $1 AND i.saga_id = $2
    AND t.next_attempt_at <= now() AND (t.claimed_until IS NULL OR t.claimed_until < now())
  RETURNING t.step, t.command_type, t.payload, t.attempts, t.causation_id, t.traceparent, i.correlation_id`;

/** A failed attempt without a verdict: the claim is let go and the step waits before its next try. */
export const DEFER_STEP_SQL = `
  UPDATE saga_steps SET claimed_until = NULL, next_attempt_at = now() + make_interval(secs => $4::double precision / 1000), error = $5
  WHERE saga = $1 AND saga_id = $2 AND step = $3 AND status = 'pending'`;

/**
 * Instances with a step nobody is dispatching: never tried a while after it was
 * decided (the process that decided it died before dispatching), or due again
 * after a failed try, and not claimed.
 */
export const STALE_STEPS_SQL = `
  SELECT saga, saga_id FROM saga_steps
  WHERE status = 'pending' AND saga = ANY ($3::text[]) AND (claimed_until IS NULL OR claimed_until < now())
    AND ((attempts = 0 AND created_at <= now() - make_interval(secs => $1::double precision / 1000))
      OR (attempts > 0 AND next_attempt_at <= now()))
  GROUP BY saga, saga_id
  ORDER BY min(next_attempt_at)
  LIMIT $2`;

/** The next due timeout of a running instance, its instance locked; one busy elsewhere is skipped. */
export const NEXT_DUE_TIMEOUT_SQL = `
  SELECT t.saga, t.saga_id, t.timeout_type, t.data, t.due_at
  FROM saga_timeouts t JOIN saga_instances i ON i.saga = t.saga AND i.saga_id = t.saga_id
  WHERE t.due_at <= $1 AND i.phase = 'running' AND t.saga = ANY ($2::text[])
  ORDER BY t.due_at
  LIMIT 1
  FOR UPDATE OF i SKIP LOCKED`;

export const DROP_TIMEOUT_SQL = `DELETE FROM saga_timeouts WHERE saga = $1 AND saga_id = $2 AND timeout_type = $3 AND due_at = $4`;
