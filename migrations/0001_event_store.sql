-- The event store: one row per stream holding its version, and the append-only events table.
-- Error codes raised here (class ES) are mapped to typed errors by core/eventstore/errors.ts.

CREATE TABLE streams (
  stream_id   text PRIMARY KEY CHECK (length(stream_id) BETWEEN 1 AND 200),
  stream_type text NOT NULL CHECK (length(stream_type) BETWEEN 1 AND 200),
  version     integer NOT NULL CHECK (version > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tx_id           xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text NOT NULL,
  stream_type     text NOT NULL,
  version         integer NOT NULL CHECK (version > 0),
  event_id        uuid NOT NULL UNIQUE,
  type            text NOT NULL CHECK (length(type) BETWEEN 1 AND 200),
  schema_version  integer NOT NULL DEFAULT 1 CHECK (schema_version > 0),
  data            jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
  metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, version)
);

-- The global feed is read in (tx_id, global_position) order; see read_feed in core/eventstore.
CREATE INDEX events_feed_order ON events (tx_id, global_position);

CREATE FUNCTION reject_event_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only: % on events is not allowed', TG_OP
    USING ERRCODE = 'ES403';
END $$;

CREATE TRIGGER events_append_only_rows
  BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION reject_event_mutation();

CREATE TRIGGER events_append_only_truncate
  BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION reject_event_mutation();

-- Appends p_events (a JSON array of {eventId, type, schemaVersion, data, metadata})
-- to one stream, enforcing the expected version, in one call.
--
-- p_expected is 'exact' (with p_expected_version), 'no_stream', 'stream_exists' or 'any'.
--
-- Ordering argument: a transaction id is assigned at a transaction's first write.
-- The per-stream advisory lock is taken before any write, and the append must be the
-- transaction's first write, so two appends to one stream get transaction ids in the
-- order they take the lock, which is their version order. The global feed, ordered
-- by (tx_id, global_position), therefore never contradicts per-stream order.
CREATE FUNCTION append_to_stream(
  p_stream_id text,
  p_stream_type text,
  p_expected text,
  p_expected_version integer,
  p_events jsonb
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
END $$;
