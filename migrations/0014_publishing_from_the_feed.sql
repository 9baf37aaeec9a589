-- Publishing to NATS from the feed (core/publishing). Stored events are published
-- straight from the events table by a feed processor, 'publisher:events', with no copy
-- per event. The outbox keeps only integration messages (not stored events), written
-- by appends (core/eventstore/appendStatement.ts) and published by 'publisher:outbox'.

-- An outbox row is now a message with its own id (its JetStream message id) and an
-- ordering key (messages sharing one are published in order). Rows written before
-- were stored events: their id was the event's, their key its stream.
ALTER TABLE outbox ADD COLUMN message_id uuid, ADD COLUMN ordering_key text;
UPDATE outbox SET message_id = event_id, ordering_key = stream_id;
ALTER TABLE outbox
  ALTER COLUMN message_id SET NOT NULL,
  ALTER COLUMN ordering_key SET NOT NULL,
  ALTER COLUMN event_id DROP NOT NULL,
  ALTER COLUMN stream_id DROP NOT NULL,
  ALTER COLUMN stream_version DROP NOT NULL,
  ADD CONSTRAINT outbox_message_id_key UNIQUE (message_id),
  ADD CONSTRAINT outbox_ordering_key_check CHECK (length(ordering_key) BETWEEN 1 AND 200);

-- Messages NATS refused for a reason no retry can fix (over the maximum payload, a
-- subject no stream captures): kept for a person, counted, listed with the error.
-- Requeueing one marks it; the publisher then sends it again, out of its order.
CREATE TABLE parked_messages (
  message_id   uuid PRIMARY KEY,
  source       text NOT NULL CHECK (source IN ('events', 'outbox')),
  ordering_key text NOT NULL,
  subject      text NOT NULL,
  error        text NOT NULL,
  refusals     integer NOT NULL DEFAULT 1,
  parked_at    timestamptz NOT NULL DEFAULT now(),
  requeued_at  timestamptz
);
CREATE INDEX parked_messages_requeued ON parked_messages (requeued_at) WHERE requeued_at IS NOT NULL;

-- Wait for appends in flight: every event is committed, and none is being written,
-- while the publisher's starting point is chosen below.
LOCK TABLE events IN SHARE MODE;

INSERT INTO parked_messages (message_id, source, ordering_key, subject, error, refusals, parked_at)
SELECT event_id, 'events', stream_id, subject, coalesce(last_error, 'parked'), attempts, parked_at
FROM outbox WHERE event_id IS NOT NULL AND parked_at IS NOT NULL;

-- The events publisher starts just before the oldest event still waiting in the old
-- outbox, in feed order, or at the head of the feed when none waits. Events after that
-- point that the old outbox had published already are skipped while their rows remain
-- (see core/publishing/eventMessages.ts), so each event reaches JetStream once.
INSERT INTO feed_processors (name, start_tx, start_position)
SELECT 'publisher:events',
       coalesce(waiting.tx_id, head.tx_id, '0'),
       coalesce(waiting.global_position - 1, head.global_position, 0)
FROM (SELECT) AS one
LEFT JOIN LATERAL (
  SELECT e.tx_id, e.global_position FROM outbox o JOIN events e ON e.event_id = o.event_id
  WHERE o.published_at IS NULL AND o.parked_at IS NULL
  ORDER BY e.tx_id, e.global_position LIMIT 1
) AS waiting ON true
LEFT JOIN LATERAL (
  SELECT e.tx_id, e.global_position FROM events e ORDER BY e.tx_id DESC, e.global_position DESC LIMIT 1
) AS head ON true;

-- What the feed now publishes leaves the outbox; published rows stay until their retention.
DELETE FROM outbox WHERE event_id IS NOT NULL AND published_at IS NULL;
CREATE INDEX outbox_published_events ON outbox (event_id) WHERE event_id IS NOT NULL AND published_at IS NOT NULL;
DROP INDEX outbox_parked;
DROP FUNCTION outbox_pending_batch(integer, integer, xid8, bigint, integer);

-- One page of the outbox for a publisher partition, after a cursor (tx_id, id), below the
-- snapshot's xmin as the feed is read (see readFeed.ts): a row that becomes visible later
-- sorts after every cursor taken now. The plan is pinned to walking outbox_pending in
-- order, since a queue's statistics are always stale.
CREATE FUNCTION outbox_page(p_after_tx xid8, p_after_id bigint, p_limit integer, p_partitions integer, p_partition integer)
RETURNS TABLE (id bigint, tx_id xid8, message_id uuid, ordering_key text, subject text, payload text, headers json, created_at timestamptz)
LANGUAGE sql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
  SELECT o.id, o.tx_id, o.message_id, o.ordering_key, o.subject, o.payload::text, o.headers, o.created_at
  FROM outbox AS o
  WHERE o.published_at IS NULL AND o.parked_at IS NULL
    AND (o.tx_id, o.id) > (p_after_tx, p_after_id)
    AND o.tx_id < pg_snapshot_xmin(pg_current_snapshot())
    AND stream_partition(o.ordering_key, p_partitions) = p_partition
  ORDER BY o.tx_id, o.id
  LIMIT p_limit
$$;
