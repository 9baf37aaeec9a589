-- A handler's own failures are counted since the partition's last success, whatever
-- passing failures come between them. Counted one kind at a time (migrations/0022), a
-- deadlock between two of them started the policy's count again: a batch that breaks
-- the handler every time, on a partition busy enough to deadlock every other try, was
-- retried for ever at the base delay instead of being marked failed.
--
-- attempts stays the streak the status shows (a handler's own failures are shown by
-- this count); a streak of its own kind under way at the upgrade carries over.
ALTER TABLE processor_partitions ADD COLUMN policy_attempts integer NOT NULL DEFAULT 0;

UPDATE processor_partitions SET policy_attempts = attempts WHERE failure_retry = 'failure_policy';
