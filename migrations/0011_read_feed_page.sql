-- One page of the global feed (core/eventstore/readFeed.ts), with its plan pinned to
-- walking events_feed_order from the cursor and stopping at the limit. Left to the
-- planner, a filter it cannot estimate (a partition's hash, a rare event type) made it
-- gather every event after the cursor and sort them, for every page: a projection's
-- catch-up cost grew with the square of the feed's length.
--
-- p_horizon is the caller's snapshot xmin: only transactions below it are read (see
-- readFeed.ts for why the feed never skips an event). A NULL filter matches everything.
CREATE FUNCTION read_feed_page(
  p_after_tx xid8,
  p_after_position bigint,
  p_horizon xid8,
  p_limit integer,
  p_types text[] DEFAULT NULL,
  p_stream_types text[] DEFAULT NULL,
  p_partitions integer DEFAULT NULL,
  p_partition integer DEFAULT NULL
)
RETURNS SETOF events
LANGUAGE sql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
  SELECT e.* FROM events AS e
  WHERE (e.tx_id, e.global_position) > (p_after_tx, p_after_position)
    AND e.tx_id < p_horizon
    AND (p_types IS NULL OR e.type = ANY (p_types))
    AND (p_stream_types IS NULL OR e.stream_type = ANY (p_stream_types))
    AND (p_partitions IS NULL OR stream_partition(e.stream_id, p_partitions) = p_partition)
  ORDER BY e.tx_id, e.global_position
  LIMIT p_limit
$$;
