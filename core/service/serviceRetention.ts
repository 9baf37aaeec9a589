import * as z from '../schema';
import { deleteFinishedCommands } from '../commands';
import { asDatabaseError, DeletionStoppedError, inSavepoint, isDb, type Queryable } from '../db';
import { parseEnvironment } from '../environment/parseEnvironment';
import { MAX_RETENTION_HOURS } from '../environment/retentionHours';
import { deleteOldProcessedMessages } from '../publishing';
import { RETENTION_STEPS, RetentionFailedError, type RetentionStep } from './RetentionFailedError';

const RetentionSchema = z.object({
  /** How long a finished command's record (and so its id's idempotency) is kept. */
  COMMAND_RETENTION_HOURS: z._default(z.coerce.number().check(z.positive(), z.maximum(MAX_RETENTION_HOURS)), 168),
  /** How long an idempotent consumer remembers a processed message id: a delivery after that runs its handler again. */
  PROCESSED_MESSAGE_RETENTION_HOURS: z._default(z.coerce.number().check(z.positive(), z.maximum(MAX_RETENTION_HOURS)), 168),
});

export type RetentionConfig = z.infer<typeof RetentionSchema>;

export function retentionConfigFromEnv(env: Record<string, string | undefined> = process.env): RetentionConfig {
  return parseEnvironment(RetentionSchema, env, 'retention');
}

const HOUR_MS = 3_600_000;

// PostgreSQL's answer to a savepoint asked for outside a transaction block: the
// connection is in autocommit. Asked, not inferred from the clock, which PGlite reads to
// the millisecond only.
const NO_ACTIVE_SQL_TRANSACTION = '25P01';

/** A `Queryable` that is no pool may be a caller's transaction, or a connection in autocommit. */
async function inCallersTransaction(db: Queryable): Promise<boolean> {
  if (isDb(db)) return false;
  try {
    await db.query('SAVEPOINT retention_probe');
  } catch (error) {
    if (asDatabaseError(error)?.code === NO_ACTIVE_SQL_TRANSACTION) return false;
    throw error;
  }
  await db.query('RELEASE SAVEPOINT retention_probe');
  return true;
}

/**
 * One scheduled cleanup: old finished commands, and old processed message ids,
 * each in bounded batches. Each step runs whatever the other did: one that
 * keeps failing (a lock it cannot get, a statement past the pool's bound) must
 * not starve the other run after run. A failure is thrown once both have run,
 * as RetentionFailedError with what each step deleted for good. In a caller's
 * transaction each step runs in a savepoint: a failed one is undone alone,
 * rather than aborting the transaction under the other.
 */
export async function runRetention(db: Queryable, config: RetentionConfig): Promise<Record<RetentionStep, number>> {
  const steps: Record<RetentionStep, () => Promise<{ deleted: number }>> = {
    commands: () => deleteFinishedCommands(db, { retentionMs: config.COMMAND_RETENTION_HOURS * HOUR_MS }),
    processedMessages: () => deleteOldProcessedMessages(db, { retentionMs: config.PROCESSED_MESSAGE_RETENTION_HOURS * HOUR_MS }),
  };
  const deleted: Record<RetentionStep, number> = { commands: 0, processedMessages: 0 };
  let savepoints: boolean;
  try {
    savepoints = await inCallersTransaction(db);
  } catch (error) {
    // A caller's transaction aborted already, or the connection lost: neither step can run.
    throw new RetentionFailedError(new Map(RETENTION_STEPS.map((step) => [step, error])), deleted);
  }
  const errors = new Map<RetentionStep, unknown>();
  for (const step of RETENTION_STEPS) {
    try {
      deleted[step] = (await (savepoints ? inSavepoint(db, 'retention_step', steps[step]) : steps[step]())).deleted;
    } catch (error) {
      // Its earlier batches committed each on its own; in a savepoint they were undone with it,
      // and the failure alone is the step's error.
      const stopped = error instanceof DeletionStoppedError;
      if (stopped && !savepoints) deleted[step] = error.deleted;
      errors.set(step, stopped && savepoints ? error.cause : error);
    }
  }
  if (errors.size > 0) throw new RetentionFailedError(errors, deleted);
  return deleted;
}
