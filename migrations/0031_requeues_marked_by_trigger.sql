-- Migration 0030 has the requeue itself record its transaction (requeued_by). During a
-- rolling deploy the previous release's requeue, and a person's own UPDATE of
-- requeued_at, set the time only: the column then held nothing, or an older requeue's
-- transaction, and a turn re-parking the message took the requeue for one it had seen,
-- and undid it. Every requeue now records its transaction, whoever makes it: any update
-- giving requeued_at a new value that is not null. Parking again, which keeps the value
-- or clears it, records nothing.
CREATE FUNCTION mark_requeue_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.requeued_by := pg_current_xact_id();
  RETURN NEW;
END;
$$;

CREATE TRIGGER parked_messages_requeue_transaction
  BEFORE UPDATE OF requeued_at ON parked_messages
  FOR EACH ROW WHEN (NEW.requeued_at IS NOT NULL AND NEW.requeued_at IS DISTINCT FROM OLD.requeued_at)
  EXECUTE FUNCTION mark_requeue_transaction();
