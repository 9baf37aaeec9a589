-- The command record's rules move from CHECK constraints to domains, as the stream
-- row's did (0010): PostgreSQL 15 reads and plans a table's CHECK constraints again
-- for every INSERT or UPDATE statement, and every command the bus runs writes its
-- record in the statement that appends its events. A domain's check comes from a
-- plan cached per connection. The values allowed are the same.
--
-- Changing a column to a domain with a check rewrites the table and its indexes once,
-- under an exclusive lock: on a large commands table, run this migration when few
-- commands arrive, or after retention has deleted the old records.
CREATE DOMAIN command_identifier AS text CHECK (length(VALUE) BETWEEN 1 AND 200);
CREATE DOMAIN command_status AS text CHECK (VALUE IN ('pending', 'succeeded', 'failed'));

ALTER TABLE commands
  DROP CONSTRAINT commands_command_id_check,
  DROP CONSTRAINT commands_status_check,
  ALTER COLUMN command_id TYPE command_identifier,
  ALTER COLUMN status TYPE command_status;
