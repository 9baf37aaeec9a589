import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { log } from '../core/observability';
import type { Context } from 'aws-lambda';
import { readPublishingStatus, type Publisher } from '../core/publishing';
import { createServicePublisher } from '../core/service';
import { lambdaEntry } from './lambdaEntry';
import { metrics } from './observability';
import { getRuntime, type FunctionRuntime } from './runtime';

// Stop this long before Lambda's own limit, to release the leases and report.
const SAFETY_MARGIN_MS = 5_000;

let publisher: Publisher | undefined;

/** The runtime's publisher, built once per process; throws without NATS_URL. */
export function publisherFor(runtime: FunctionRuntime): Publisher {
  const { NATS_URL } = runtime.publishing;
  if (!NATS_URL) throw new Error('NATS_URL is not set: the publisher has nowhere to publish');
  publisher ??= createServicePublisher(runtime, { ...runtime.publishing, NATS_URL }, {
    onRetry: ({ processor, partition, error, retryInMs }) => {
      log.warn('NATS did not take a batch; retrying', { processor, partition, retryInMs, error: String(error) });
    },
  });
  return publisher;
}

/**
 * Scheduled, and nudged after commits: publishes to JetStream until nothing is
 * left or the invocation nears its time limit, then reports the backlog.
 */
async function publish(_event: unknown, context: Context): Promise<void> {
  const runtime = await getRuntime();
  const report = await publisherFor(runtime).run({ deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS });
  const status = await readPublishingStatus(runtime.db);
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
  if (status.parked > 0 || report.parked > 0) log.error('messages refused by NATS for good are parked', { report, status });
  else if (report.retried > 0 || report.lastError) log.warn('NATS did not take every message; they wait', { report, status });
  else log.info('published', { report, status });
}

export const handler = lambdaEntry(publish);
