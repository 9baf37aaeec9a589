import { z } from 'zod';
import { parseEnvironment } from '../environment/parseEnvironment';
import { DEFAULT_SUBJECT_PREFIX } from './outboxRouting';

const OutboxConfigSchema = z.object({
  /** Where the publisher sends; the app appends to the outbox whether or not it is set. */
  NATS_URL: z.string().min(1).optional(),
  OUTBOX_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'one subject token: letters, digits, _ or -').default(DEFAULT_SUBJECT_PREFIX),
  OUTBOX_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a JetStream stream name: letters, digits, _ or -').default('EVENTS'),
  OUTBOX_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(4),
  OUTBOX_DUPLICATE_WINDOW_SECONDS: z.coerce.number().int().positive().default(600),
  OUTBOX_RETENTION_HOURS: z.coerce.number().nonnegative().default(24),
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().positive().default(5),
});

export type OutboxConfig = z.infer<typeof OutboxConfigSchema>;

/** Reads the outbox settings from the environment, failing loudly on bad values. */
export function outboxConfigFromEnv(env: Record<string, string | undefined> = process.env): OutboxConfig {
  return parseEnvironment(OutboxConfigSchema, env, 'outbox');
}
