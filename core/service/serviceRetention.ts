import * as z from '../schema';
import { deleteFinishedCommands } from '../commands';
import type { Queryable } from '../db';
import { parseEnvironment } from '../environment/parseEnvironment';
import { MAX_RETENTION_HOURS } from '../environment/retentionHours';
import { deleteOldProcessedMessages } from '../publishing';

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

/** One scheduled cleanup: old finished commands, then old processed message ids, each in bounded batches. */
export async function runRetention(db: Queryable, config: RetentionConfig): Promise<{ commands: number; processedMessages: number }> {
  const commands = await deleteFinishedCommands(db, { retentionMs: config.COMMAND_RETENTION_HOURS * HOUR_MS });
  const processed = await deleteOldProcessedMessages(db, { retentionMs: config.PROCESSED_MESSAGE_RETENTION_HOURS * HOUR_MS });
  return { commands: commands.deleted, processedMessages: processed.deleted };
}
