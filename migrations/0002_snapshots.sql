-- The latest snapshot of each aggregate stream. A snapshot is only used when its
-- schema_version matches the aggregate's current snapshot schema version.
CREATE TABLE snapshots (
  stream_id      text PRIMARY KEY,
  schema_version integer NOT NULL CHECK (schema_version > 0),
  version        integer NOT NULL CHECK (version > 0),
  state          jsonb NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now()
);
