-- append_to_stream, same contract as in 0004, with a cheaper body: the events are
-- returned by RETURN QUERY straight from their INSERT, where 0004 looped over a
-- cursor on a statement that also held the command's outcome. Profiling showed
-- that loop as a large share of an append's server time. The command's outcome
-- is now a second statement, run only when there is a command; it reads the
-- events this call has just written.
CREATE OR REPLACE FUNCTION append_to_stream(
  p_stream_id text,
  p_stream_type text,
  p_expected text,
  p_expected_version integer,
  p_events jsonb,
  p_command jsonb DEFAULT NULL
) RETURNS TABLE (event_id uuid, version integer, global_position bigint, tx_id xid8)
LANGUAGE plpgsql AS $$
DECLARE
  v_count integer := jsonb_array_length(p_events);
  v_new_version integer;
  v_stored_type text;
  v_actual integer;
BEGIN
  IF v_count = 0 THEN
    RAISE EXCEPTION 'append needs at least one event' USING ERRCODE = 'ES400';
  END IF;
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    RAISE EXCEPTION 'append must be the first write of its transaction (stream %)', p_stream_id
      USING ERRCODE = 'ES412';
  END IF;

  -- Taken before any write: see 0004 for why this keeps feed order and version order in step.
  PERFORM pg_advisory_xact_lock(1163067393, hashtext(p_stream_id));

  IF p_expected = 'any' THEN
    INSERT INTO streams AS s (stream_id, stream_type, version)
    VALUES (p_stream_id, p_stream_type, v_count)
    ON CONFLICT (stream_id) DO UPDATE SET version = s.version + v_count, updated_at = now()
    RETURNING s.version, s.stream_type INTO v_new_version, v_stored_type;
  ELSIF p_expected = 'no_stream' OR (p_expected = 'exact' AND p_expected_version = 0) THEN
    INSERT INTO streams AS s (stream_id, stream_type, version)
    VALUES (p_stream_id, p_stream_type, v_count)
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING s.version, s.stream_type INTO v_new_version, v_stored_type;
  ELSIF p_expected = 'stream_exists' THEN
    UPDATE streams AS s SET version = s.version + v_count, updated_at = now()
    WHERE s.stream_id = p_stream_id
    RETURNING s.version, s.stream_type INTO v_new_version, v_stored_type;
    IF v_new_version IS NULL THEN
      RAISE EXCEPTION 'stream % does not exist', p_stream_id USING ERRCODE = 'ES404';
    END IF;
  ELSIF p_expected = 'exact' AND p_expected_version > 0 THEN
    UPDATE streams AS s SET version = s.version + v_count, updated_at = now()
    WHERE s.stream_id = p_stream_id AND s.version = p_expected_version
    RETURNING s.version, s.stream_type INTO v_new_version, v_stored_type;
  ELSE
    RAISE EXCEPTION 'invalid expected version % %', p_expected, p_expected_version
      USING ERRCODE = 'ES400';
  END IF;

  IF v_new_version IS NULL THEN
    SELECT s.version INTO v_actual FROM streams AS s WHERE s.stream_id = p_stream_id;
    RAISE EXCEPTION 'wrong expected version for stream %', p_stream_id
      USING ERRCODE = 'ES409', DETAIL = coalesce(v_actual, 0)::text;
  END IF;
  IF v_stored_type <> p_stream_type THEN
    RAISE EXCEPTION 'stream % has type %, not %', p_stream_id, v_stored_type, p_stream_type
      USING ERRCODE = 'ES422', DETAIL = v_stored_type;
  END IF;

  RETURN QUERY
    INSERT INTO events AS e (stream_id, stream_type, version, event_id, type, schema_version, data, metadata)
    SELECT p_stream_id, p_stream_type, v_new_version - v_count + x.idx::integer,
           (x.value ->> 'eventId')::uuid, x.value ->> 'type', (x.value ->> 'schemaVersion')::integer,
           x.value -> 'data', x.value -> 'metadata'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(value, idx)
    ORDER BY x.idx
    RETURNING e.event_id, e.version, e.global_position, e.tx_id;

  IF p_command IS NULL THEN
    RETURN;
  END IF;

  INSERT INTO commands AS c (command_id, command_type, payload_hash, correlation_id, status, outcome)
  SELECT p_command ->> 'commandId', p_command ->> 'commandType', p_command ->> 'payloadHash',
         p_command ->> 'correlationId', 'succeeded',
         jsonb_build_object(
           'streamId', p_stream_id,
           'version', v_new_version,
           'events', jsonb_agg(jsonb_build_object(
                       'eventId', w.event_id, 'type', w.type, 'version', w.version,
                       'globalPosition', w.global_position::text) ORDER BY w.version))
  FROM events AS w
  WHERE w.stream_id = p_stream_id AND w.version > v_new_version - v_count
  ON CONFLICT (command_id) DO UPDATE
    SET status = 'succeeded', outcome = EXCLUDED.outcome, error = NULL, updated_at = now()
    WHERE c.status = 'pending' AND c.payload_hash = EXCLUDED.payload_hash;

  -- The command already has an outcome (or another payload): store nothing, let the caller replay it.
  IF NOT FOUND THEN
    RAISE EXCEPTION 'command % already has an outcome', p_command ->> 'commandId'
      USING ERRCODE = 'ES208', DETAIL = p_command ->> 'commandId';
  END IF;
END $$;
