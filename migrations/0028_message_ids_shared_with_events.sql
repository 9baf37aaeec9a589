-- Events and integration messages share JetStream's message ids (Nats-Msg-Id), and
-- JetStream keeps one message per id within its duplicate window: an append that would
-- give one kind an id the other kind has stored is refused. ES209: a message id that is a
-- stored event's id; ES210: an event id the caller chose that is a stored message's id.
-- DETAIL is the id.
CREATE FUNCTION raise_message_id_taken(p_id uuid, p_taken_by text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF p_taken_by = 'event' THEN
    RAISE EXCEPTION 'message id % is a stored event''s id', p_id USING ERRCODE = 'ES209', DETAIL = p_id::text;
  END IF;
  RAISE EXCEPTION 'event id % is a stored integration message''s id', p_id USING ERRCODE = 'ES210', DETAIL = p_id::text;
END $$;
