-- A publisher partition's outbox backlog (its lag in the status, the metrics and the
-- CLI) was counted by one query whose partition filter (a hash of the ordering key) the
-- planner cannot estimate: it chose to read every unpublished row and sort them, so the
-- count took longer the longer NATS was away (0.5 s behind 800,000 messages), also for
-- a partition with nothing waiting, and would outlast the statement bound in the end.
--
-- outbox_backlog walks the pending rows in the page's order through outbox_pending, as
-- outbox_page_with_head does, and at most p_scan_bound of them (one more row only says
-- whether any lies past the walk), as the events feed's
-- lag count walks a bounded window (read_feed_window, 0029). It answers how many of the
-- walk are the partition's and waiting (up to p_limit + 1: more says "capped"), the age
-- of the oldest of them, whether rows lie past the walk (then more may wait), and the
-- age of the walk's first row: how far behind a partition is whose messages, if any,
-- lie past the walk.
CREATE FUNCTION outbox_backlog(p_after_tx xid8, p_after_id bigint, p_limit integer, p_partitions integer, p_partition integer, p_scan_bound integer)
RETURNS TABLE (items integer, oldest_age_seconds float8, walk_ended_short boolean, walk_age_seconds float8)
LANGUAGE sql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
  SELECT least(count(*) FILTER (WHERE w.waiting AND w.n <= p_scan_bound), p_limit + 1)::integer,
         coalesce(extract(epoch FROM statement_timestamp() - min(w.created_at) FILTER (WHERE w.waiting AND w.n <= p_scan_bound)), 0)::float8,
         count(*) > p_scan_bound,
         coalesce(extract(epoch FROM statement_timestamp() - min(w.created_at) FILTER (WHERE w.n <= p_scan_bound)), 0)::float8
  FROM (
    SELECT o.created_at,
           row_number() OVER (ORDER BY o.tx_id, o.id) AS n,
           stream_partition(o.ordering_key, p_partitions) = p_partition
             AND NOT EXISTS (SELECT FROM parked_messages AS p WHERE p.message_id = o.message_id AND p.source = 'outbox') AS waiting
    FROM outbox AS o
    WHERE o.published_at IS NULL AND o.parked_at IS NULL AND (o.tx_id, o.id) > (p_after_tx, p_after_id)
    ORDER BY o.tx_id, o.id
    LIMIT p_scan_bound + 1) AS w
$$;
