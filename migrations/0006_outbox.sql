-- The transactional outbox: messages for NATS JetStream, written by the append
-- itself (append_to_stream_with_outbox below), published by core/outbox.

CREATE TABLE outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The appending transaction, as for events: the publisher reads in (tx_id, id) order.
  tx_id           xid8 NOT NULL DEFAULT pg_current_xact_id(),
  -- Unique already, through events: the outbox row is written in the event's own statement.
  event_id        uuid NOT NULL,
  stream_id       text NOT NULL,
  stream_version  integer NOT NULL,
  subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  -- The message body (the event's envelope) and NATS headers, fixed at append time.
  -- json, not jsonb: stored as the text that is sent, so publishing converts nothing.
  payload         json NOT NULL,
  headers         json NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  -- Failed publishes of this message that were its own fault (NATS refused it).
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  -- After a refusal the message, and the rest of its stream, waits until then.
  next_attempt_at timestamptz,
  published_at    timestamptz,
  -- A message that kept being refused: skipped by the publisher, kept for a person.
  parked_at       timestamptz
);

-- The publisher's work queue, in (tx_id, id) order: within a stream, version order.
CREATE INDEX outbox_pending ON outbox (tx_id, id) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX outbox_parked ON outbox (parked_at) WHERE parked_at IS NOT NULL;

-- The first pending messages of one publisher partition after a cursor (tx_id, id).
-- As with the global feed (see core/eventstore/readFeed.ts), only transactions below
-- the snapshot's xmin are read: any row that becomes visible later sorts after every
-- cursor taken now, so a publisher can read on from its cursor and never leave a row
-- behind it. Within a stream the order is version order (the first-write rule of
-- append_to_stream).
--
-- A queue's statistics are always stale: the plan is pinned to walking outbox_pending
-- in order and stopping at the limit, instead of gathering every pending row and
-- sorting them, which costs the whole backlog per batch.
CREATE FUNCTION outbox_pending_batch(
  p_partition integer, p_partitions integer, p_after_tx xid8, p_after_id bigint, p_limit integer
)
RETURNS TABLE (
  id bigint, tx_id xid8, event_id uuid, stream_id text, stream_version integer, subject text,
  payload text, headers json, attempts integer, delayed boolean
)
LANGUAGE sql STABLE
SET enable_sort = off
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
  SELECT o.id, o.tx_id, o.event_id, o.stream_id, o.stream_version, o.subject, o.payload::text, o.headers,
         o.attempts, coalesce(o.next_attempt_at > now(), false)
  FROM outbox AS o
  WHERE o.published_at IS NULL AND o.parked_at IS NULL
    AND (o.tx_id, o.id) > (p_after_tx, p_after_id)
    AND o.tx_id < pg_snapshot_xmin(pg_current_snapshot())
    AND stream_partition(o.stream_id, p_partitions) = p_partition
  ORDER BY o.tx_id, o.id
  LIMIT p_limit
$$;

-- append_to_stream, plus an outbox row for every event that carries a "subject".
-- Same call, same transaction: the outbox can never miss an event or hold one that
-- was not stored. Within a stream, outbox ids follow versions (the append holds the
-- stream's lock until commit).
CREATE FUNCTION append_to_stream_with_outbox(
  p_stream_id text,
  p_stream_type text,
  p_expected text,
  p_expected_version integer,
  p_events jsonb,
  p_command jsonb DEFAULT NULL
) RETURNS TABLE (event_id uuid, version integer, global_position bigint, tx_id xid8)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
    SELECT a.event_id, a.version, a.global_position, a.tx_id
    FROM append_to_stream(p_stream_id, p_stream_type, p_expected, p_expected_version, p_events, p_command) AS a;

  INSERT INTO outbox (event_id, stream_id, stream_version, subject, payload, headers)
  SELECT e.event_id, e.stream_id, e.version, x.value ->> 'subject',
         json_build_object(
           'eventId', e.event_id, 'type', e.type, 'schemaVersion', e.schema_version,
           'streamId', e.stream_id, 'streamType', e.stream_type, 'version', e.version,
           'globalPosition', e.global_position::text, 'recordedAt', e.recorded_at,
           'data', e.data, 'metadata', e.metadata),
         json_strip_nulls(json_build_object(
           'Event-Id', e.event_id::text, 'Event-Type', e.type,
           'Event-Schema-Version', e.schema_version::text,
           'Stream-Id', e.stream_id, 'Stream-Type', e.stream_type, 'Stream-Version', e.version::text,
           'Correlation-Id', e.metadata ->> 'correlationId',
           'Causation-Id', e.metadata ->> 'causationId',
           'Command-Id', e.metadata ->> 'commandId',
           'traceparent', e.metadata ->> 'traceparent'))
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(value, idx)
  JOIN events AS e ON e.event_id = (x.value ->> 'eventId')::uuid
  WHERE x.value ? 'subject'
  ORDER BY x.idx;
END $$;

-- Idempotent consumers (core/outbox/idempotentConsumer.ts) record each message they
-- processed in the same transaction as its effects.
CREATE TABLE processed_messages (
  consumer      text NOT NULL CHECK (length(consumer) BETWEEN 1 AND 200),
  message_id    text NOT NULL CHECK (length(message_id) BETWEEN 1 AND 200),
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
