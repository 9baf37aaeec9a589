import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { log } from '../core/observability';
import { retentionConfigFromEnv, runRetention } from '../core/service';
import { lambdaEntry } from './lambdaEntry';
import { getRuntime } from './runtime';
import { metrics } from './observability';

/**
 * Scheduled: re-dispatches commands stuck pending (a lost invoke, a crashed
 * worker), then deletes what is past its retention (finished command records,
 * processed message ids), a bounded amount per run.
 */
async function sweep(): Promise<void> {
  const { asyncCommands, db } = await getRuntime();
  const { redispatched, failed } = await asyncCommands.sweepPendingCommands();
  metrics.addMetric('CommandsRedispatched', MetricUnit.Count, redispatched.length);
  metrics.addMetric('CommandsGivenUp', MetricUnit.Count, failed.length);
  if (redispatched.length > 0 || failed.length > 0) log.warn('swept stuck commands', { redispatched, failed });
  const cleaned = await runRetention(db, retentionConfigFromEnv());
  metrics.addMetric('CommandRecordsDeleted', MetricUnit.Count, cleaned.commands);
  metrics.addMetric('ProcessedMessagesDeleted', MetricUnit.Count, cleaned.processedMessages);
}

export const handler = lambdaEntry(sweep);
