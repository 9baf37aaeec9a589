-- The outbox cleanup (core/publishing/outboxCleanup.ts) deletes published integration
-- messages older than the retention, oldest first. Without an index on their age it read
-- the whole outbox for every batch of every run, the young rows it may not delete yet
-- included (a day of messages by default), and the old rows it may never delete (parked
-- ones) again in each batch: a million rows read to delete a thousand at scale. With this
-- index a batch reads only rows past the retention, from where the previous batch of the
-- run stopped.
CREATE INDEX outbox_created ON outbox (created_at, id);
