-- What a build reads from the feed: the event types its handlers name, and the stream
-- types it is limited to (NULL: every stream type). Code of a built version that reads
-- otherwise would carry the build on without the history of what it now reads, or with
-- that of what it no longer does: it is refused, as another partition count or other
-- tables are, until the version is bumped. A build started before this migration has
-- no event types recorded (NULL); the first registration by code of its version
-- records what that code reads.
ALTER TABLE projection_generations
  ADD COLUMN event_types text[],
  ADD COLUMN stream_types text[],
  ADD CONSTRAINT projection_generations_reads_check CHECK (event_types IS NOT NULL OR stream_types IS NULL);
