-- The write path, leaner again: the event browser's two indexes on events (0017) were
-- the costliest part of an append beyond the row itself. A correlation id or a trace id
-- is random, so each append wrote into the middle of two more B-trees: measured at
-- concurrency 8, appends ran at about 0.6 of a plain INSERT with them, 0.8 without.
--
-- The browser now finds a story's events through story_keys, filled from the feed by a
-- feed processor (core/browser/storyIndexer.ts) in batches, off the write path. What it
-- has not read yet, past its checkpoint, the browser reads from the events themselves
-- (core/browser/storyQueries.ts), so a story is whole the moment its events commit.
CREATE TABLE story_keys (
  -- The event's place in the feed: the feed index finds it.
  tx_id           xid8 NOT NULL,
  global_position bigint NOT NULL,
  correlation_id  text,
  trace_id        text
);

CREATE INDEX story_keys_by_correlation ON story_keys (correlation_id, global_position) WHERE correlation_id IS NOT NULL;
CREATE INDEX story_keys_by_trace ON story_keys (trace_id, global_position) WHERE trace_id IS NOT NULL;

DROP INDEX events_by_correlation;
DROP INDEX events_by_trace;
