-- A requeue turn re-parks a message refused again, and keeps a requeue it did not
-- see when it read the requeued messages (a person requeued it again, after a fix,
-- while the refused try was on its way). Comparing the requeue's time with the read's
-- missed one made in a transaction that began before the read and committed after it:
-- its now() was earlier, and the requeue was undone though the turn never saw it. The
-- requeue's transaction id, checked against the snapshot the turn read in, says which
-- requeues the turn saw. Null for requeues made before this migration (all seen).
ALTER TABLE parked_messages ADD COLUMN requeued_by xid8;
