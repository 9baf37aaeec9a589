import { z } from 'zod';
import { parseEnvironment } from '../environment/parseEnvironment';
import { DEFAULT_SUBJECT_PREFIX } from './eventRouting';

const PublishingConfigSchema = z.object({
  /** Where the publisher sends; without it nothing is published (events keep, and go out once it is set). */
  NATS_URL: z.string().min(1).optional(),
  PUBLISH_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'one subject token: letters, digits, _ or -').default(DEFAULT_SUBJECT_PREFIX),
  PUBLISH_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a JetStream stream name: letters, digits, _ or -').default('EVENTS'),
  PUBLISH_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(4),
  PUBLISH_DUPLICATE_WINDOW_SECONDS: z.coerce.number().int().positive().default(600),
  OUTBOX_RETENTION_HOURS: z.coerce.number().nonnegative().default(24),
});

export type PublishingConfig = z.infer<typeof PublishingConfigSchema>;

/** Reads the publisher's settings from the environment, failing loudly on bad values. */
export function publishingConfigFromEnv(env: Record<string, string | undefined> = process.env): PublishingConfig {
  return parseEnvironment(PublishingConfigSchema, env, 'publishing');
}
