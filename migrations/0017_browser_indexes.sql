-- The event browser finds the whole story of a request by its correlation id, or by the
-- trace id of its W3C traceparent, without scanning the events table. Each index costs
-- appends a little (one more entry per event); the story of a request is worth it.
CREATE INDEX events_by_correlation ON events ((metadata ->> 'correlationId'), global_position)
  WHERE metadata ? 'correlationId';
CREATE INDEX events_by_trace ON events ((substr(metadata ->> 'traceparent', 4, 32)), global_position)
  WHERE metadata ? 'traceparent';

-- The commands of a request, for the same story.
CREATE INDEX commands_by_correlation ON commands (correlation_id) WHERE correlation_id IS NOT NULL;
