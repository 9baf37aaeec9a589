import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { log } from '../core/observability';
import { lambdaEntry } from './lambdaEntry';
import { getRuntime } from './runtime';
import { metrics } from './observability';

/** Scheduled: re-dispatches commands stuck pending (a lost invoke, a crashed worker). */
async function sweep(): Promise<void> {
  const { asyncCommands } = await getRuntime();
  const { redispatched, failed } = await asyncCommands.sweepPendingCommands();
  metrics.addMetric('CommandsRedispatched', MetricUnit.Count, redispatched.length);
  metrics.addMetric('CommandsGivenUp', MetricUnit.Count, failed.length);
  if (redispatched.length > 0 || failed.length > 0) log.warn('swept stuck commands', { redispatched, failed });
}

export const handler = lambdaEntry(sweep);
