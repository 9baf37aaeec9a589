import * as z from '../schema';
import { subjectProblem } from '../eventstore';
import { MAX_BATCH_SIZE } from '../processing';
import { parseEnvironment } from '../environment/parseEnvironment';
import { MAX_RETENTION_HOURS } from '../environment/retentionHours';
import { DEFAULT_SUBJECT_PREFIX } from './eventRouting';
import { whyNotANatsServer } from './natsServerAddress';
import { DEFAULT_RETRY_HORIZON_MS } from './publisherOptions';
import { MAX_DUPLICATE_WINDOW_MS, MAX_STREAM_NAME_CHARACTERS } from './publisherSettingsChecks';

const RETRY_HORIZON_SECONDS = DEFAULT_RETRY_HORIZON_MS / 1000;
const MAX_DUPLICATE_WINDOW_SECONDS = MAX_DUPLICATE_WINDOW_MS / 1000;

/** A check refusing the text with the problem `problemOf` names, if it names one. */
const refusedBy = (problemOf: (text: string) => string | null | undefined) =>
  z.superRefine((text: string, context) => {
    const problem = problemOf(text);
    if (problem !== null && problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: text });
  });

const PublishingConfigSchema = z.object({
  /** Where the publisher sends; without it nothing is published (events keep, and go out once it is set). */
  NATS_URL: z.optional(
    z.string().check(refusedBy(whyNotANatsServer)),
  ),
  // Checked as the publisher checks it, here at the cold start: one NATS reserves ("_INBOX") would fail every run.
  PUBLISH_SUBJECT_PREFIX: z._default(
    z.string().check(
      z.regex(/^[A-Za-z0-9_-]+$/, 'one subject token: letters, digits, _ or -'),
      refusedBy(subjectProblem),
    ),
    DEFAULT_SUBJECT_PREFIX,
  ),
  PUBLISH_STREAM: z._default(
    z.string().check(
      z.regex(/^[A-Za-z0-9_-]+$/, 'a JetStream stream name: letters, digits, _ or -'),
      z.maxLength(MAX_STREAM_NAME_CHARACTERS, `at most ${MAX_STREAM_NAME_CHARACTERS} characters`),
    ),
    'EVENTS',
  ),
  PUBLISH_PARTITIONS: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1024)), 4),
  // Pages are bounded by count, not bytes: a smaller one bounds the memory large messages take.
  PUBLISH_BATCH_SIZE: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_BATCH_SIZE)), 1_000),
  // Checked here, at the cold start, not first when a publisher is built: a publish
  // retried within the window must still be dropped as a duplicate, and a window the
  // publisher refuses would fail every run.
  PUBLISH_DUPLICATE_WINDOW_SECONDS: z._default(
    z.coerce.number().check(
      z.int(),
      z.gt(RETRY_HORIZON_SECONDS, `must be longer than the publisher's retry horizon, ${RETRY_HORIZON_SECONDS} s`),
      z.maximum(MAX_DUPLICATE_WINDOW_SECONDS, `must be at most ${MAX_DUPLICATE_WINDOW_SECONDS} s (a hundred years)`),
    ),
    600,
  ),
  // An empty value is refused, as for every variable, not read as 0: here 0 is a
  // retention of its own, which deletes each message right after publishing it.
  OUTBOX_RETENTION_HOURS: z._default(
    z.pipe(
      z.string().check(z.regex(/\S/, 'must not be empty: unset it for the default of 24 hours')),
      z.coerce.number<string>().check(z.nonnegative(), z.maximum(MAX_RETENTION_HOURS, `must be at most ${MAX_RETENTION_HOURS} hours (ten years)`)),
    ),
    24,
  ),
});

export type PublishingConfig = z.infer<typeof PublishingConfigSchema>;

/** Reads the publisher's settings from the environment, failing loudly on bad values. */
export function publishingConfigFromEnv(env: Record<string, string | undefined> = process.env): PublishingConfig {
  return parseEnvironment(PublishingConfigSchema, env, 'publishing');
}
