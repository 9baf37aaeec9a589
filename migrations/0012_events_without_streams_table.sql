-- The write path, leaner: an append is one INSERT into events, its expected version
-- checked against the stream's own newest events in the same statement
-- (core/eventstore/appendStatement.ts), as message-db does, instead of an UPDATE of a
-- streams row. That UPDATE, the plpgsql call around it and the CHECK constraints
-- below were most of what an append cost beyond a plain INSERT.
--
-- Why feed order still follows version order without the streams row: a statement
-- appending version N+1 only writes when version N is visible to it (committed), and a
-- transaction gets its id at its first write. The writer of version N got its id before
-- it committed, so before the writer of N+1 got its own. Racing writers of one version
-- collide on the unique (stream_id, version); the loser is refused and nothing of it is
-- stored. The append must still be its transaction's first write, or the transaction
-- could hold an older id. Appends still take the stream's advisory lock, so that those
-- reading the stream's newest version (`any`, `stream_exists`) wait for the one in
-- flight instead of colliding with it.

-- The global position stays an identity column (its sequence keeps it unique) but
-- loses its own index, which no read uses: the feed walks events_feed_order, and a
-- stream is found by its unique (stream_id, version).
ALTER TABLE events DROP CONSTRAINT events_pkey;

-- The row rules move from CHECK constraints to domains: PostgreSQL 15 re-plans a
-- table's CHECK constraints on every INSERT statement, a tenth of a one-event append.
CREATE DOMAIN event_type_name AS text CHECK (length(VALUE) BETWEEN 1 AND 200);
CREATE DOMAIN positive_integer AS integer CHECK (VALUE > 0);
CREATE DOMAIN object_document AS jsonb CHECK (jsonb_typeof(VALUE) = 'object');

ALTER TABLE events
  DROP CONSTRAINT events_version_check,
  DROP CONSTRAINT events_type_check,
  DROP CONSTRAINT events_schema_version_check,
  DROP CONSTRAINT events_data_check,
  DROP CONSTRAINT events_metadata_check,
  ALTER COLUMN stream_id TYPE stream_name,
  ALTER COLUMN stream_type TYPE stream_name,
  ALTER COLUMN version TYPE positive_integer,
  ALTER COLUMN type TYPE event_type_name,
  ALTER COLUMN schema_version TYPE positive_integer,
  ALTER COLUMN data TYPE object_document,
  ALTER COLUMN metadata TYPE object_document;

-- A stream is its events now: the streams table and the functions that kept it are gone.
DROP FUNCTION append_to_stream_with_outbox(text, text, text, integer, jsonb, jsonb);
DROP FUNCTION append_to_stream(text, text, text, integer, jsonb, jsonb);
DROP TABLE streams;

-- Raised by an append whose command already has an outcome (or was recorded with
-- another payload): the append statement calls it only then, so nothing is stored.
CREATE FUNCTION raise_command_already_recorded(p_command_id text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'command % already has an outcome', p_command_id
    USING ERRCODE = 'ES208', DETAIL = p_command_id;
END $$;
