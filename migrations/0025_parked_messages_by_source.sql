-- A parked message is its source's: an event, or an integration message of the outbox.
-- Keyed by its id alone, an integration message given the id of a parked event (or the
-- other way round) was taken for that one: the publisher skipped it as parked, and
-- parking it recorded nothing. JetStream's own deduplication by message id is left to
-- JetStream, as for messages that are not parked (see docs/publishing.md).
ALTER TABLE parked_messages DROP CONSTRAINT parked_messages_pkey, ADD PRIMARY KEY (message_id, source);
