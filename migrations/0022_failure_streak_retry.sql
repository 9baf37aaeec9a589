-- A partition's attempts count one kind of failure at a time. A failure that passes by
-- itself (an event stored by newer code, during a deploy) is retried without end and
-- may count many attempts; a handler's own failure after it must start its policy's
-- count afresh, or the partition would be marked failed at its first try.
ALTER TABLE processor_partitions
  ADD COLUMN failure_retry text CHECK (failure_retry IN ('failure_policy', 'until_it_passes'));

-- A streak already under way is taken for a handler's own: it keeps its count toward
-- giving up, rather than starting afresh at the upgrade.
UPDATE processor_partitions SET failure_retry = 'failure_policy' WHERE attempts > 0;
