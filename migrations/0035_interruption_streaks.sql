-- An external batch's interruptions (NATS away or refusing for a while) count a streak
-- of their own kind. Counted as failures that pass by themselves, they shared one streak
-- with an unreadable event's (stored by newer code, during a deploy): after an outage
-- the first unreadable try counted as the outage's next and waited the policy's maximum
-- at once, and an interruption after a deploy showed the deploy's tries and its event.
--
-- Streaks under way at the upgrade keep their kind: the next failure of either kind
-- counts from 1, as the kinds already do when one follows the other.
ALTER TABLE processor_partitions DROP CONSTRAINT processor_partitions_failure_retry_check;
ALTER TABLE processor_partitions
  ADD CONSTRAINT processor_partitions_failure_retry_check CHECK (failure_retry IN ('failure_policy', 'until_it_passes', 'interrupted'));
