-- Retention (defect 10 of the hardening wave): finished command records and processed
-- message ids are deleted once older than their retention, oldest first, in bounded
-- batches; these indexes find them without scanning the tables.
CREATE INDEX commands_finished ON commands (updated_at) WHERE status <> 'pending';
CREATE INDEX processed_messages_age ON processed_messages (processed_at);
