-- A filtered feed page walks a bounded window of the feed. read_feed_page_with_head
-- (0020) walked the feed index until the page was full or the horizon came: a
-- reader filtered to a rare event type, behind millions of other events (a new
-- saga or projection version starts at the feed's beginning), walked them all in
-- one statement. Past the pool's statement bound the page failed, every run alike,
-- and the checkpoint never moved.
--
-- read_feed_window walks at most p_scan_limit events after the cursor, keeps those
-- the filters match (p_limit at most), and after a short page returns one more row
-- holding only a position, with every other column NULL (event_id among them) but
-- type, which says what the position is:
--   'head'       the newest event below the horizon: the walk reached it;
--   'scan_bound' the window's last event: the walk stopped there, more may follow.
-- A reader moves its checkpoint there past events its filter left out. No row at
-- all means no event below the horizon.
CREATE FUNCTION read_feed_window(
  p_after_tx xid8,
  p_after_position bigint,
  p_horizon xid8,
  p_limit integer,
  p_scan_limit integer,
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
  v_end events%ROWTYPE;
BEGIN
  RETURN QUERY
    SELECT w.* FROM (
      SELECT e.* FROM events AS e
      WHERE (e.tx_id, e.global_position) > (p_after_tx, p_after_position)
        AND e.tx_id < p_horizon
      ORDER BY e.tx_id, e.global_position
      LIMIT p_scan_limit
    ) AS w
    WHERE (p_types IS NULL OR w.type = ANY (p_types))
      AND (p_stream_types IS NULL OR w.stream_type = ANY (p_stream_types))
      AND (p_partitions IS NULL OR stream_partition(w.stream_id, p_partitions) = p_partition)
    ORDER BY w.tx_id, w.global_position
    LIMIT p_limit;
  GET DIAGNOSTICS v_found = ROW_COUNT;
  IF v_found < p_limit THEN
    -- The window's last event, if the feed below the horizon reaches that far.
    SELECT e.tx_id, e.global_position INTO v_end.tx_id, v_end.global_position
    FROM events AS e
    WHERE (e.tx_id, e.global_position) > (p_after_tx, p_after_position)
      AND e.tx_id < p_horizon
    ORDER BY e.tx_id, e.global_position
    OFFSET p_scan_limit - 1
    LIMIT 1;
    IF FOUND THEN
      v_end.type := 'scan_bound';
      RETURN NEXT v_end;
      RETURN;
    END IF;
    SELECT e.tx_id, e.global_position INTO v_end.tx_id, v_end.global_position
    FROM events AS e
    WHERE e.tx_id < p_horizon
    ORDER BY e.tx_id DESC, e.global_position DESC
    LIMIT 1;
    IF FOUND THEN
      v_end.type := 'head';
      RETURN NEXT v_end;
    END IF;
  END IF;
END
$$;
