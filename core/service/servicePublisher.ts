import { connect } from '@nats-io/transport-node';
import { connectWithin, createPublisher, eventRouting, natsConnectOptionsOf, type Publisher, type PublisherOptions, type PublishingConfig } from '../publishing';
import type { ServiceRuntime } from './serviceRuntime';

/**
 * How long opening a NATS connection may take (the client's default is 20 s).
 * A batch opens one when there is none, and the run's deadline is checked only
 * between batches: the publisher function's safety margin covers this.
 */
export const NATS_CONNECT_TIMEOUT_MS = 5_000;

/**
 * The service's publisher, from the deployment's publishing settings: its
 * stored events on `<prefix>.<streamType>.<eventType>` (or its own routing),
 * its integration messages on their own subjects, all into one stream.
 */
export function createServicePublisher(
  runtime: Pick<ServiceRuntime, 'db' | 'service'>,
  config: PublishingConfig & { NATS_URL: string },
  options: Pick<PublisherOptions, 'onRetry' | 'holder'> = {},
): Publisher {
  // Read once, here: an address no retry could connect to is refused as the publisher is built.
  const server = natsConnectOptionsOf(config.NATS_URL);
  const prefix = config.PUBLISH_SUBJECT_PREFIX;
  const publishing = runtime.service.publishing ?? {};
  // Called as its method: a routing written as a class keeps subjectFor on its prototype,
  // where a spread of it would lose it and publish the events it keeps private.
  const { routing } = publishing;
  return createPublisher({
    db: runtime.db,
    // Without async traces the client does not build two Error objects per publish
    // to keep call stacks: a third of its CPU at this rate. Its timeout is per address.
    connect: connectWithin(
      () => connect({ ...server, name: `${runtime.service.name}-publisher`, noAsyncTraces: true, timeout: NATS_CONNECT_TIMEOUT_MS }),
      NATS_CONNECT_TIMEOUT_MS,
    ),
    routing: eventRouting(routing?.subjectFor ? { prefix, subjectFor: (event) => routing.subjectFor?.(event) } : { prefix }),
    subjectPrefix: prefix,
    stream: {
      name: config.PUBLISH_STREAM,
      subjects: [`${prefix}.>`, ...(publishing.integrationSubjects ?? [])],
      duplicateWindowMs: config.PUBLISH_DUPLICATE_WINDOW_SECONDS * 1000,
    },
    partitions: config.PUBLISH_PARTITIONS,
    batchSize: config.PUBLISH_BATCH_SIZE,
    retention: { retentionMs: config.OUTBOX_RETENTION_HOURS * 3_600_000 },
    ...options,
  });
}
