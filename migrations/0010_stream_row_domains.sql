-- The stream row's rules move from CHECK constraints to domains. PostgreSQL 15
-- re-reads and re-plans a table's CHECK constraints on every INSERT or UPDATE
-- statement; the streams UPDATE of every append spent as much server time on its
-- three checks as the events INSERT on its five. A domain's check runs where a
-- value of the domain is written, from a plan cached per connection: the id and
-- type are checked when a stream is created, the version on every append.
CREATE DOMAIN stream_name AS text CHECK (length(VALUE) BETWEEN 1 AND 200);
CREATE DOMAIN stream_version AS integer CHECK (VALUE > 0);

ALTER TABLE streams
  DROP CONSTRAINT streams_stream_id_check,
  DROP CONSTRAINT streams_stream_type_check,
  DROP CONSTRAINT streams_version_check,
  ALTER COLUMN stream_id TYPE stream_name,
  ALTER COLUMN stream_type TYPE stream_name,
  ALTER COLUMN version TYPE stream_version;
