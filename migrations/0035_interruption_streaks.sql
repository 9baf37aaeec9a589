-- An external batch's interruptions (NATS away or refusing for a while) count a streak
-- of their own kind. Counted as failures that pass by themselves, they shared one streak
-- with an unreadable event's (stored by newer code, during a deploy): after an outage
-- the first unreadable try counted as the outage's next and waited the policy's maximum
-- at once, and an interruption after a deploy showed the deploy's tries and its event.
ALTER TABLE processor_partitions DROP CONSTRAINT processor_partitions_failure_retry_check;
ALTER TABLE processor_partitions
  ADD CONSTRAINT processor_partitions_failure_retry_check CHECK (failure_retry IN ('failure_policy', 'until_it_passes', 'interrupted'));

-- A streak under way at the upgrade whose last record was an interruption takes its kind:
-- an interruption never set next_attempt_at, where a failure that passes by itself always
-- sets it past its own record's time. The previous release, still running during a rolling
-- deploy, records its interruptions the old way until it is replaced.
UPDATE processor_partitions
SET failure_retry = 'interrupted', failed_item_id = NULL
WHERE failure_retry = 'until_it_passes' AND (next_attempt_at IS NULL OR next_attempt_at <= updated_at);
