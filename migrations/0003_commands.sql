-- Commands: their idempotency records and, for asynchronous ones, their status.
-- append_to_stream (0004) writes a command's outcome in the same call as its events.

CREATE TABLE commands (
  command_id     text PRIMARY KEY CHECK (length(command_id) BETWEEN 1 AND 200),
  command_type   text NOT NULL,
  payload_hash   text NOT NULL,
  payload        jsonb,
  correlation_id text,
  status         text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  outcome        jsonb,
  error          jsonb,
  attempts       integer NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX commands_pending ON commands (updated_at) WHERE status = 'pending';
