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

-- The release before this one keeps running beside it for a while (the Migrator runs
-- first). Its successes and resumes set attempts to 0 without knowing this column: a
-- count it left behind would fail the partition at the new release's first failure.
-- No statement of this release sets attempts to 0 with a count kept, so 0 clears both.
-- A later migration may drop the trigger, once no release before this one can run.
CREATE FUNCTION clear_policy_attempts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.policy_attempts := 0;
  RETURN NEW;
END $$;

CREATE TRIGGER policy_attempts_cleared_with_attempts
  BEFORE UPDATE OF attempts ON processor_partitions
  FOR EACH ROW WHEN (NEW.attempts = 0 AND NEW.policy_attempts <> 0)
  EXECUTE FUNCTION clear_policy_attempts();
