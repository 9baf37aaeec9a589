-- Two costs of a filtered feed page (a projection's, a partition's, the publisher's),
-- about 0.5 ms of a 500-event page, more than the page's own walk:
--
-- 1. PL/pgSQL planned read_feed_page's query afresh for each call's values (a
--    custom plan) and never settled on the generic one. The pinned settings leave
--    one plan whatever the values, the ordered walk of events_feed_order, so the
--    generic plan is that plan, made once per session.
-- 2. The callers joined the page to the visible head's position and sorted the
--    result again, since a join's output order is not the function's. The sort
--    copied every row. read_feed_page_with_head returns the head itself, after the
--    page, and its callers order by ordinality, which needs no sort.
ALTER FUNCTION read_feed_page(xid8, bigint, xid8, integer, text[], text[], integer, integer)
  SET plan_cache_mode = force_generic_plan;

-- read_feed_page's walk (the same query and pinned settings), then, when the page
-- is short, one more row holding only the position of the newest event below the
-- horizon, with every other column NULL (event_id among them): a reader moves its
-- checkpoint there past events its filter left out. No row at all means no event
-- below the horizon.
CREATE FUNCTION read_feed_page_with_head(
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
LANGUAGE plpgsql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_found integer;
  v_head events%ROWTYPE;
BEGIN
  RETURN QUERY
    SELECT e.* FROM events AS e
    WHERE (e.tx_id, e.global_position) > (p_after_tx, p_after_position)
      AND e.tx_id < p_horizon
      AND (p_types IS NULL OR e.type = ANY (p_types))
      AND (p_stream_types IS NULL OR e.stream_type = ANY (p_stream_types))
      AND (p_partitions IS NULL OR stream_partition(e.stream_id, p_partitions) = p_partition)
    ORDER BY e.tx_id, e.global_position
    LIMIT p_limit;
  GET DIAGNOSTICS v_found = ROW_COUNT;
  IF v_found < p_limit THEN
    SELECT e.tx_id, e.global_position INTO v_head.tx_id, v_head.global_position
    FROM events AS e
    WHERE e.tx_id < p_horizon
    ORDER BY e.tx_id DESC, e.global_position DESC
    LIMIT 1;
    IF FOUND THEN
      RETURN NEXT v_head;
    END IF;
  END IF;
END
$$;
