import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { connect } from '@nats-io/transport-node';
import type { Context } from 'aws-lambda';
import { createPublisher, readPublishingStatus, type Publisher } from '../core/publishing';
import { getApp, type App } from './app';
import { logger, metrics } from './observability';

// Stop this long before Lambda's own limit, to release the leases and report.
const SAFETY_MARGIN_MS = 5_000;

let publisher: Publisher | undefined;

/** The app's publisher, built once per container; throws without NATS_URL. */
export function publisherFor(app: App): Publisher {
  const { NATS_URL, PUBLISH_STREAM, PUBLISH_SUBJECT_PREFIX, PUBLISH_PARTITIONS, PUBLISH_DUPLICATE_WINDOW_SECONDS, OUTBOX_RETENTION_HOURS } = app.publishing;
  if (!NATS_URL) throw new Error('NATS_URL is not set: the publisher has nowhere to publish');
  publisher ??= createPublisher({
    db: app.db,
    // Without async traces the client does not build two Error objects per publish
    // to keep call stacks: a third of its CPU at this rate.
    connect: () => connect({ servers: NATS_URL, name: 'publisher', noAsyncTraces: true }),
    stream: { name: PUBLISH_STREAM, duplicateWindowMs: PUBLISH_DUPLICATE_WINDOW_SECONDS * 1000 },
    subjectPrefix: PUBLISH_SUBJECT_PREFIX,
    partitions: PUBLISH_PARTITIONS,
    retention: { retentionMs: OUTBOX_RETENTION_HOURS * 3_600_000 },
    onRetry: ({ processor, partition, error, retryInMs }) => {
      logger.warn('NATS did not take a batch; retrying', { processor, partition, retryInMs, error: String(error) });
    },
  });
  return publisher;
}

/**
 * Scheduled, and nudged after commits: publishes to JetStream until nothing is
 * left or the invocation nears its time limit, then reports the backlog.
 */
async function publish(_event: unknown, context: Context): Promise<void> {
  const app = await getApp();
  const report = await publisherFor(app).run({ deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS });
  const status = await readPublishingStatus(app.db);
  metrics.addMetric('PublishedMessages', MetricUnit.Count, report.published);
  metrics.addMetric('PublishedDuplicates', MetricUnit.Count, report.duplicates);
  metrics.addMetric('PublishRetries', MetricUnit.Count, report.retried);
  metrics.addMetric('OutboxCleaned', MetricUnit.Count, report.cleaned);
  metrics.addMetric('PublishBacklog', MetricUnit.Count, status.events.backlog + status.outbox.backlog);
  metrics.addMetric('PublishOldestWaitingAge', MetricUnit.Seconds, Math.max(status.events.oldestAgeSeconds, status.outbox.oldestAgeSeconds));
  metrics.addMetric('ParkedMessages', MetricUnit.Count, status.parked);
  if (report.latency) {
    metrics.addMetric('PublishLatencyP50', MetricUnit.Milliseconds, report.latency.p50Ms);
    metrics.addMetric('PublishLatencyP99', MetricUnit.Milliseconds, report.latency.p99Ms);
  }
  if (status.parked > 0 || report.parked > 0) logger.error('messages refused by NATS for good are parked', { report, status });
  else if (report.retried > 0 || report.lastError) logger.warn('NATS did not take every message; they wait', { report, status });
  else logger.info('published', { report, status });
}

export const handler = middy(publish).use(injectLambdaContext(logger, { resetKeys: true })).use(logMetrics(metrics));
