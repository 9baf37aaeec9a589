-- A requeue turn reads a page of requeued messages, whole keys, the key requeued first
-- first. Messages a passing refusal keeps waiting (a full stream that discards new ones)
-- stay requeued, and came first again in every turn: a page of them held back every
-- message requeued after them, for as long as the refusal lasted. A key a turn read and
-- left waiting now takes its place in line from that turn, behind the keys requeued
-- since; greatest() leaves it at its requeue while no turn has read it.
ALTER TABLE parked_messages ADD COLUMN requeue_turn_at timestamptz;

-- Each page marks its keys' requeued messages: found by key, not by a scan of them all.
CREATE INDEX parked_messages_requeued_keys ON parked_messages (source, ordering_key) WHERE requeued_at IS NOT NULL;
