import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { connect } from '@nats-io/transport-node';
import type { Context } from 'aws-lambda';
import { createOutboxPublisher, readOutboxStatus, type OutboxPublisher } from '../core/outbox';
import { getApp, type App } from './app';
import { logger, metrics } from './observability';

// Stop this long before Lambda's own limit, to release the leases and report.
const SAFETY_MARGIN_MS = 5_000;

let publisher: OutboxPublisher | undefined;

/** The app's publisher, built once per container; throws without NATS_URL. */
export function outboxPublisherFor(app: App): OutboxPublisher {
  const { NATS_URL, OUTBOX_STREAM, OUTBOX_SUBJECT_PREFIX, OUTBOX_PARTITIONS, OUTBOX_DUPLICATE_WINDOW_SECONDS, OUTBOX_RETENTION_HOURS, OUTBOX_MAX_ATTEMPTS } = app.outbox;
  if (!NATS_URL) throw new Error('NATS_URL is not set: the outbox publisher has nowhere to publish');
  publisher ??= createOutboxPublisher({
    db: app.db,
    // Without async traces the client does not build two Error objects per publish
    // to keep call stacks: a third of its CPU at this rate.
    connect: () => connect({ servers: NATS_URL, name: 'outbox-publisher', noAsyncTraces: true }),
    stream: { name: OUTBOX_STREAM, duplicateWindowMs: OUTBOX_DUPLICATE_WINDOW_SECONDS * 1000 },
    subjectPrefix: OUTBOX_SUBJECT_PREFIX,
    partitions: OUTBOX_PARTITIONS,
    maxAttempts: OUTBOX_MAX_ATTEMPTS,
    cleanup: { retentionMs: OUTBOX_RETENTION_HOURS * 3_600_000 },
  });
  return publisher;
}

/**
 * Scheduled, and nudged after commits: publishes the outbox to JetStream until it
 * is drained or the invocation nears its time limit, then reports the backlog.
 */
async function publishOutbox(_event: unknown, context: Context): Promise<void> {
  const app = await getApp();
  const report = await outboxPublisherFor(app).run({ deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS });
  const status = await readOutboxStatus(app.db);
  metrics.addMetric('OutboxPublished', MetricUnit.Count, report.published);
  metrics.addMetric('OutboxDuplicates', MetricUnit.Count, report.duplicates);
  metrics.addMetric('OutboxRefused', MetricUnit.Count, report.refused);
  metrics.addMetric('OutboxUnreachable', MetricUnit.Count, report.unreachable);
  metrics.addMetric('OutboxCleaned', MetricUnit.Count, report.cleaned);
  metrics.addMetric('OutboxBacklog', MetricUnit.Count, status.backlog);
  metrics.addMetric('OutboxOldestPendingAge', MetricUnit.Seconds, status.oldestPendingAgeSeconds);
  metrics.addMetric('OutboxParked', MetricUnit.Count, status.parked);
  if (report.latency) {
    metrics.addMetric('OutboxPublishLatencyP50', MetricUnit.Milliseconds, report.latency.p50Ms);
    metrics.addMetric('OutboxPublishLatencyP99', MetricUnit.Milliseconds, report.latency.p99Ms);
  }
  if (status.parked > 0 || report.refused > 0) logger.error('outbox messages refused by NATS', { report, status });
  else if (report.unreachable > 0 || report.lastError) logger.warn('NATS unreachable; messages wait', { report, status });
  else logger.info('outbox published', { report, status });
}

export const handler = middy(publishOutbox).use(injectLambdaContext(logger, { resetKeys: true })).use(logMetrics(metrics));
