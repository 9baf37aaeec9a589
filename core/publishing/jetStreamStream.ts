import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { answerWithin } from './answerWithin';
import { PublisherConfigurationError } from './PublisherConfigurationError';
import { withoutCoveredSubjects } from './subjectCoverage';

export interface PublishStreamConfig {
  /** The JetStream stream the publisher publishes into; default "EVENTS". */
  name: string;
  /** Subjects it captures; default `<prefix>.>`. */
  subjects: string[];
  /**
   * How long JetStream remembers a message id to drop a republished duplicate.
   * Must exceed the publisher's retry horizon; see PublisherOptions.
   */
  duplicateWindowMs: number;
}

// JetStream's refusals of a stream's subjects or settings: another stream captures one
// of the subjects, or the stream's own subjects overlap. No retry can fix either.
const SUBJECTS_OVERLAP_ANOTHER_STREAM = 10065;
const INVALID_STREAM_CONFIG = 10052;
// Kept back from the check's time for the refusal to reach its caller.
const NAMING_SLACK_MS = 50;

/** The streams other than `own` that capture any of `subjects`. */
async function streamsCapturing(jsm: JetStreamManager, subjects: readonly string[], own: string): Promise<string[]> {
  const found = new Set<string>();
  for (const subject of subjects) {
    for await (const name of jsm.streams.names(subject)) if (name !== own) found.add(name);
  }
  return [...found];
}

/**
 * A refusal no retry can fix, as the run's PublisherConfigurationError; any
 * other failure (NATS away, a timeout) as it is, to be retried.
 */
async function refusalOf(jsm: JetStreamManager, config: PublishStreamConfig, subjects: readonly string[], error: unknown, until: number): Promise<unknown> {
  if (!(error instanceof JetStreamApiError)) return error;
  if (error.code === SUBJECTS_OVERLAP_ANOTHER_STREAM) {
    // Named if JetStream says so in what is left of the check's time: a lookup past it would
    // turn the refusal into a timeout, retried as if NATS were away.
    const left = until - Date.now() - NAMING_SLACK_MS;
    const others = left <= 0 ? [] : await answerWithin(streamsCapturing(jsm, subjects, config.name), left).catch(() => []);
    return new PublisherConfigurationError(
      `stream ${config.name} cannot take its subjects (${subjects.join(', ')}): they overlap with ${others.length > 0 ? `stream ${others.join(', ')}` : 'an existing stream'}, and a subject can be captured by one stream only`,
    );
  }
  if (error.code === INVALID_STREAM_CONFIG) return new PublisherConfigurationError(`stream ${config.name} refused by JetStream: ${error.message}`);
  return error;
}

/**
 * Creates the stream, or widens an existing one to capture the subjects and to
 * keep the duplicate window at least as long as asked. Never narrows anything.
 * A subject another one covers (`bank.deposits.large` beside `bank.>`) is left
 * out: JetStream refuses a stream whose subjects overlap. Subjects it refuses
 * all the same (overlapping without one covering the other, or captured by
 * another stream) are a PublisherConfigurationError. `until` is when the
 * caller stops waiting (epoch ms): naming the stream that captures a refused
 * subject waits no longer.
 */
export async function ensurePublishStream(nc: NatsConnection, config: PublishStreamConfig, until: number): Promise<void> {
  // No account-info request first: the check is bounded by one publish timeout, and on a slow
  // link each round trip counts (JetStream being off fails the stream's info the same way).
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  // Whole nanoseconds, up: JetStream refuses a fraction of one (8.2 minutes in ms is 491999.99999999994) as invalid JSON.
  const window = Math.ceil(nanos(config.duplicateWindowMs));
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(config.name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
    const subjects = withoutCoveredSubjects(config.subjects);
    await jsm.streams.add({ name: config.name, subjects, duplicate_window: window }).catch(async (refused: unknown) => {
      throw await refusalOf(jsm, config, subjects, refused, until);
    });
    return;
  }
  // A mirror stores only what its origin stores, and JetStream refuses it subjects of its
  // own: the publisher's messages could never reach it.
  if (existing.mirror) {
    throw new PublisherConfigurationError(
      `stream ${config.name} is a mirror of ${existing.mirror.name}: it takes no publishes, so publish into a stream that captures the subjects (or into its origin, by naming that one)`,
    );
  }
  // A stream that answers no publish would have every message retried for ever, and
  // stored again each time its duplicate window had passed.
  if (existing.no_ack) {
    throw new PublisherConfigurationError(`stream ${config.name} acknowledges no publish (no_ack): the publisher cannot know what it stored, so turn no_ack off`);
  }
  // JetStream rebuilds its duplicate ids, after a restart, from the messages the stream still
  // holds: one that drops them once consumed forgets their ids, and a retry stores them again.
  if (existing.retention !== RetentionPolicy.Limits) {
    throw new PublisherConfigurationError(
      `stream ${config.name} keeps messages by ${existing.retention} retention: once consumed they are gone, and after a NATS restart JetStream no longer knows their ids, so a publish retried within the duplicate window is stored twice. Publish into a stream with limits retention, and source a ${existing.retention} stream from it`,
    );
  }
  // JetStream refuses a window longer than the stream keeps messages, on every try.
  if (existing.max_age > 0 && existing.duplicate_window < window && window > existing.max_age) {
    throw new PublisherConfigurationError(
      `stream ${config.name} keeps messages for ${existing.max_age / 1e6} ms (max_age), less than the duplicate window of ${config.duplicateWindowMs} ms: JetStream refuses such a window, so raise max_age or lower duplicateWindowMs (it must still exceed the retry horizon)`,
    );
  }
  // A stream fed only by its sources comes without subjects at all, whatever the client's type says.
  const existingSubjects: readonly string[] = Array.isArray(existing.subjects) ? existing.subjects : [];
  const subjects = withoutCoveredSubjects([...existingSubjects, ...config.subjects]);
  const widened = subjects.some((subject) => !existingSubjects.includes(subject));
  if (!widened && existing.duplicate_window >= window) return;
  await jsm.streams.update(config.name, { subjects, duplicate_window: Math.max(existing.duplicate_window, window) }).catch(async (refused: unknown) => {
    throw await refusalOf(jsm, config, subjects, refused, until);
  });
}
