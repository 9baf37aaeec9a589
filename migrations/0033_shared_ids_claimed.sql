-- An append refuses a message id that is a stored event's id, and an event id the
-- caller chose that is a stored message's id (0028). It looked in its own snapshot, so
-- an id taken at the same time by another append, not yet committed, was missed: both
-- were stored, and JetStream kept whichever of the two it got first. Now the append
-- claims each such id: it locks the id until its transaction ends, and only then looks,
-- in a snapshot taken after the lock (at READ COMMITTED, each statement of a VOLATILE
-- function takes its own). An append taking the same id meanwhile waits for the other
-- to end, and then sees what it stored. Inside a caller's transaction at REPEATABLE READ
-- or SERIALIZABLE the look keeps the transaction's first snapshot, as the stream's head
-- does. Ids the store makes are new and need no claim.
CREATE FUNCTION claim_message_id(p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1163086153, hashtext(p_id::text));
  IF EXISTS (SELECT FROM events e WHERE e.event_id = p_id) THEN
    PERFORM raise_message_id_taken(p_id, 'event');
  END IF;
  RETURN true;
END $$;

-- A row the per-event outbox published an event from (0014 kept them for their
-- retention) is that event, not another message: an append of its id again is
-- refused by the events' own key, as a duplicate event.
CREATE FUNCTION claim_event_id(p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1163086153, hashtext(p_id::text));
  IF EXISTS (SELECT FROM outbox o WHERE o.message_id = p_id AND o.event_id IS NULL) THEN
    PERFORM raise_message_id_taken(p_id, 'integration message');
  END IF;
  RETURN true;
END $$;
