-- A partition's attempts count one kind of failure at a time. A failure that passes by
-- itself (an event stored by newer code, during a deploy) is retried without end and
-- may count many attempts; a handler's own failure after it must start its policy's
-- count afresh, or the partition would be marked failed at its first try.
--
-- Streaks under way at the upgrade are left without a kind, so the next failure of
-- either kind counts from 1: a handler's own streak restarts its count once, where
-- guessing "the handler's own" could fail a partition at its first real try.
ALTER TABLE processor_partitions
  ADD COLUMN failure_retry text CHECK (failure_retry IN ('failure_policy', 'until_it_passes'));
