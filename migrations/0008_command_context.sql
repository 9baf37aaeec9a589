-- A sent command's causation id and trace context, kept until the worker runs it,
-- so the events it writes carry those of the request that sent it (the correlation
-- id is already in commands.correlation_id). Null for commands run by `execute`,
-- whose context never has to outlive the request.

ALTER TABLE commands
  ADD COLUMN IF NOT EXISTS causation_id text,
  ADD COLUMN IF NOT EXISTS traceparent text;
