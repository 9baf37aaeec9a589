// The saga store's statements: an instance is loaded whole in one round trip and
// saved whole in another, so handling an input costs two besides its command.

/** The instance with its steps and timeouts, and whether it has seen the input already. */
const INSTANCE_SQL = `
  SELECT i.phase, i.state, i.state_version, i.version, i.next_step, i.correlation_id, i.traceparent, i.failure,
    EXISTS (SELECT 1 FROM saga_inputs n WHERE n.saga = i.saga AND n.saga_id = i.saga_id AND n.input_id = $3) AS seen,
    coalesce((SELECT jsonb_agg(jsonb_build_object(
        'step', s.step, 'kind', s.kind, 'type', s.command_type, 'payload', s.payload, 'compensation', s.compensation,
        'compensates', s.compensates, 'status', s.status, 'causationId', s.causation_id, 'traceparent', s.traceparent) ORDER BY s.step)
      FROM saga_steps s WHERE s.saga = i.saga AND s.saga_id = i.saga_id), '[]') AS steps,
    coalesce((SELECT jsonb_agg(jsonb_build_object('type', t.timeout_type, 'data', t.data, 'dueAt', t.due_at) ORDER BY t.timeout_type)
      FROM saga_timeouts t WHERE t.saga = i.saga AND t.saga_id = i.saga_id), '[]') AS timeouts
  FROM saga_instances i
  WHERE i.saga = $1 AND i.saga_id = $2`;

/** Locked: the input is handled in the caller's transaction, and nothing else changes the instance meanwhile. */
export const LOAD_INSTANCE_SQL = `${INSTANCE_SQL} FOR UPDATE OF i`;

/** Unlocked: the save's version check refuses it if the instance changed since (optimistic concurrency). */
export const READ_INSTANCE_SQL = INSTANCE_SQL;

/**
 * Writes what one input decided, or nothing if the instance changed since it was
 * loaded (its version): the instance, its new steps, the steps it settled, its
 * timeouts (those it no longer has are deleted, the rest upserted), the inputs,
 * and a claim on step $15 (if given) for the dispatcher that will run it.
 */
export const SAVE_INSTANCE_SQL = `
  WITH saved AS (
    INSERT INTO saga_instances AS i (saga, saga_id, phase, state, state_version, version, next_step, correlation_id, traceparent, failure, ended_at)
    VALUES ($1, $2, $4, $5, $6, $7, $8, $9, $17, $10, CASE WHEN $4 = 'completed' THEN now() END)
    ON CONFLICT (saga, saga_id) DO UPDATE SET
      phase = EXCLUDED.phase, state = EXCLUDED.state, state_version = EXCLUDED.state_version, version = EXCLUDED.version,
      next_step = EXCLUDED.next_step, failure = EXCLUDED.failure, updated_at = now(),
      ended_at = CASE WHEN EXCLUDED.phase = 'completed' THEN coalesce(i.ended_at, now()) END
    WHERE i.version = $3
    RETURNING 1
  ), new_steps AS (
    INSERT INTO saga_steps (saga, saga_id, step, kind, command_type, payload, compensation, compensates, causation_id, traceparent, claimed_until, attempts)
    SELECT $1, $2, s.step, s.kind, s.type, s.payload, s.compensation, s.compensates, s."causationId", s.traceparent,
           CASE WHEN s.step = $15 THEN now() + make_interval(secs => $16::double precision / 1000) END,
           CASE WHEN s.step = $15 THEN 1 ELSE 0 END
    FROM jsonb_to_recordset($11::jsonb) AS s(step integer, kind text, type text, payload jsonb, compensation jsonb, compensates integer, "causationId" text, traceparent text)
    WHERE EXISTS (SELECT 1 FROM saved)
  ), settled AS (
    UPDATE saga_steps t SET
      status = s.status, outcome = coalesce(s.outcome, t.outcome), error = coalesce(s.error, t.error), claimed_until = NULL,
      settled_at = CASE WHEN s.status = 'pending' THEN NULL ELSE now() END,
      attempts = CASE WHEN s.status = 'pending' THEN 0 ELSE t.attempts END,
      next_attempt_at = now()
    FROM jsonb_to_recordset($12::jsonb) AS s(step integer, status text, outcome jsonb, error jsonb)
    WHERE t.saga = $1 AND t.saga_id = $2 AND t.step = s.step AND EXISTS (SELECT 1 FROM saved)
  ), dropped AS (
    DELETE FROM saga_timeouts t
    WHERE t.saga = $1 AND t.saga_id = $2 AND EXISTS (SELECT 1 FROM saved)
      AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($13::jsonb) AS n(type text) WHERE n.type = t.timeout_type)
  ), timeouts AS (
    INSERT INTO saga_timeouts (saga, saga_id, timeout_type, data, due_at)
    SELECT $1, $2, n.type, n.data, n."dueAt" FROM jsonb_to_recordset($13::jsonb) AS n(type text, data jsonb, "dueAt" timestamptz)
    WHERE EXISTS (SELECT 1 FROM saved)
    ON CONFLICT (saga, saga_id, timeout_type) DO UPDATE SET data = EXCLUDED.data, due_at = EXCLUDED.due_at, scheduled_at = now()
    WHERE saga_timeouts.due_at IS DISTINCT FROM EXCLUDED.due_at OR saga_timeouts.data IS DISTINCT FROM EXCLUDED.data
  ), input AS (
    INSERT INTO saga_inputs (saga, saga_id, input_id, kind, summary, applied)
    SELECT $1, $2, n.id, n.kind, n.summary, true FROM jsonb_to_recordset($14::jsonb) AS n(id text, kind text, summary jsonb)
    WHERE EXISTS (SELECT 1 FROM saved)
  ), claimed AS (
    -- The next step, if it was already there (a new one is claimed as it is inserted), unless another dispatcher has it.
    UPDATE saga_steps t SET claimed_until = now() + make_interval(secs => $16::double precision / 1000), attempts = t.attempts + 1
    WHERE t.saga = $1 AND t.saga_id = $2 AND t.step = $15 AND t.status = 'pending' AND EXISTS (SELECT 1 FROM saved)
      AND t.next_attempt_at <= now() AND (t.claimed_until IS NULL OR t.claimed_until < now())
    RETURNING t.attempts
  )
  SELECT (SELECT count(*) FROM saved)::int AS saved, (SELECT attempts FROM claimed) AS claimed_attempts`;

/** An input no live instance took, counted per reason. */
export const COUNT_UNMATCHED_SQL = `
  INSERT INTO saga_unmatched AS u (saga, reason, count, last_input, last_at) VALUES ($1, $2, 1, $3, now())
  ON CONFLICT (saga, reason) DO UPDATE SET count = u.count + 1, last_input = EXCLUDED.last_input, last_at = now()`;
