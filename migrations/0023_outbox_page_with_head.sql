-- A partition of the outbox publisher whose keys have no message for a while kept its
-- checkpoint at its own last message: every poll, and every lag count, walked every row
-- written after it, other partitions' included, to return nothing (3,000 rows for one
-- empty poll behind 3,000 messages; up to the whole retention of a busy outbox).
--
-- outbox_page_with_head is outbox_page's walk (the same query, plan and horizon), then,
-- when the page is short, one more row holding only the (tx_id, id) of the newest message
-- below the horizon, every other column NULL: the reader moves its checkpoint there, as
-- read_feed_page_with_head (0020) does for the events feed. Below the horizon every
-- transaction has ended, so no row of the partition can appear behind that position.
CREATE FUNCTION outbox_page_with_head(p_after_tx xid8, p_after_id bigint, p_limit integer, p_partitions integer, p_partition integer)
RETURNS TABLE (id bigint, tx_id xid8, message_id uuid, ordering_key text, subject text, payload text, headers json, created_at timestamptz)
LANGUAGE plpgsql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
  v_found integer;
BEGIN
  RETURN QUERY
    SELECT o.id, o.tx_id, o.message_id, o.ordering_key, o.subject, o.payload::text, o.headers, o.created_at
    FROM outbox AS o
    WHERE o.published_at IS NULL AND o.parked_at IS NULL
      AND (o.tx_id, o.id) > (p_after_tx, p_after_id)
      AND o.tx_id < v_horizon
      AND stream_partition(o.ordering_key, p_partitions) = p_partition
    ORDER BY o.tx_id, o.id
    LIMIT p_limit;
  GET DIAGNOSTICS v_found = ROW_COUNT;
  IF v_found < p_limit THEN
    RETURN QUERY
      SELECT o.id, o.tx_id, NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::json, NULL::timestamptz
      FROM outbox AS o
      WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.tx_id < v_horizon
      ORDER BY o.tx_id DESC, o.id DESC
      LIMIT 1;
  END IF;
END
$$;
