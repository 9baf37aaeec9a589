import { jetstreamManager, JetStreamApiCodes, JetStreamApiError, type StreamConfig } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
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

/**
 * Creates the stream, or widens an existing one to capture the subjects and to
 * keep the duplicate window at least as long as asked. Never narrows anything.
 * A subject another one covers (`bank.deposits.large` beside `bank.>`) is left
 * out: JetStream refuses a stream whose subjects overlap.
 */
export async function ensurePublishStream(nc: NatsConnection, config: PublishStreamConfig): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const window = nanos(config.duplicateWindowMs);
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(config.name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
    await jsm.streams.add({ name: config.name, subjects: withoutCoveredSubjects(config.subjects), duplicate_window: window });
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
  await jsm.streams.update(config.name, {
    subjects,
    duplicate_window: Math.max(existing.duplicate_window, window),
  });
}
