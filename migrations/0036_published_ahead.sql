-- Messages JetStream stored from behind one still waiting in their publisher partition.
-- The partition's checkpoint stops at the waiting message (a stream full until its
-- consumers catch up, say), so every try reads the stored ones again. Remembered only
-- within a run, they went out again in every later run, and once their stream's
-- duplicate window had passed since they were stored, JetStream stored them again:
-- consumers had each of them twice. Recorded here, in the lease's fence, before the
-- batch's checkpoint, a page read marks them settled, as it marks parked ones, and they
-- never go out again. A row goes once its partition's checkpoint has passed it. It is
-- matched by its place as well as its id: an integration message's id may be taken again
-- once its row is cleaned up, and a row left behind must not mark the new one sent.
CREATE TABLE published_ahead (
  processor  text NOT NULL,
  message_id uuid NOT NULL,
  partition  integer NOT NULL,
  -- The message's place in its source's order, the checkpoint's terms.
  tx_id      xid8 NOT NULL,
  position   bigint NOT NULL,
  PRIMARY KEY (processor, message_id)
);

-- A partition's outbox backlog counts what waits: not a message stored already.
CREATE OR REPLACE FUNCTION outbox_backlog(p_after_tx xid8, p_after_id bigint, p_limit integer, p_partitions integer, p_partition integer, p_scan_bound integer)
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
             AND NOT EXISTS (SELECT FROM parked_messages AS p WHERE p.message_id = o.message_id AND p.source = 'outbox')
             AND NOT EXISTS (SELECT FROM published_ahead AS a
                             WHERE a.processor = 'publisher:outbox' AND a.message_id = o.message_id AND a.tx_id = o.tx_id AND a.position = o.id) AS waiting
    FROM outbox AS o
    WHERE o.published_at IS NULL AND o.parked_at IS NULL AND (o.tx_id, o.id) > (p_after_tx, p_after_id)
    ORDER BY o.tx_id, o.id
    LIMIT p_scan_bound + 1) AS w
$$;
