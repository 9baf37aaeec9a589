-- The trace a saga's commands continue (observability): an instance keeps its starting
-- event's traceparent, each step the one of the input that decided it, so a command a
-- saga dispatches, in whatever process, is part of the trace that started the saga.
ALTER TABLE saga_instances ADD COLUMN traceparent text;
ALTER TABLE saga_steps ADD COLUMN traceparent text;
