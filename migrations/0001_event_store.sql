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
