// What people read about sagas (the browser, the CLI, GET routes, metrics): instances, their timeline, counts.

export const READ_INSTANCE_SQL = `
  SELECT i.saga, i.saga_id, i.phase, i.state, i.state_version, i.version, i.correlation_id, i.failure,
         i.started_at, i.updated_at, i.ended_at,
    coalesce((SELECT jsonb_agg(jsonb_build_object(
        'step', s.step, 'kind', s.kind, 'commandType', s.command_type, 'payload', s.payload, 'compensates', s.compensates,
        'status', s.status, 'attempts', s.attempts, 'outcome', s.outcome, 'error', s.error,
        'createdAt', s.created_at, 'settledAt', s.settled_at) ORDER BY s.step)
      FROM saga_steps s WHERE s.saga = i.saga AND s.saga_id = i.saga_id), '[]') AS steps,
    coalesce((SELECT jsonb_agg(jsonb_build_object('type', t.timeout_type, 'dueAt', t.due_at, 'scheduledAt', t.scheduled_at) ORDER BY t.due_at)
      FROM saga_timeouts t WHERE t.saga = i.saga AND t.saga_id = i.saga_id), '[]') AS timeouts,
    coalesce((SELECT jsonb_agg(jsonb_build_object('inputId', n.input_id, 'kind', n.kind, 'summary', n.summary, 'at', n.at) ORDER BY n.at, n.input_id)
      FROM saga_inputs n WHERE n.saga = i.saga AND n.saga_id = i.saga_id), '[]') AS inputs
  FROM saga_instances i WHERE i.saga = $1 AND i.saga_id = $2`;

/** Per saga: instances by phase, timeouts overdue by more than the grace given, and inputs no instance took. */
export const SAGA_COUNTS_SQL = `
  SELECT s.saga,
    (SELECT count(*)::int FROM saga_instances i WHERE i.saga = s.saga AND i.phase = 'running') AS running,
    (SELECT count(*)::int FROM saga_instances i WHERE i.saga = s.saga AND i.phase = 'compensating') AS compensating,
    (SELECT count(*)::int FROM saga_instances i WHERE i.saga = s.saga AND i.phase = 'completed') AS completed,
    (SELECT count(*)::int FROM saga_instances i WHERE i.saga = s.saga AND i.phase = 'stuck') AS stuck,
    (SELECT count(*)::int FROM saga_timeouts t JOIN saga_instances i ON i.saga = t.saga AND i.saga_id = t.saga_id
      WHERE t.saga = s.saga AND i.phase = 'running' AND t.due_at < $2::timestamptz) AS overdue_timeouts,
    (SELECT coalesce(sum(u.count), 0)::bigint FROM saga_unmatched u WHERE u.saga = s.saga) AS unmatched
  FROM unnest($1::text[]) AS s(saga)`;
