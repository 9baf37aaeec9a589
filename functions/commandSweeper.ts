import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { getApp } from './app';
import { logger, metrics } from './observability';

/** Scheduled: re-dispatches commands stuck pending (a lost invoke, a crashed worker). */
async function sweep(): Promise<void> {
  const { asyncCommands } = await getApp();
  const { redispatched, failed } = await asyncCommands.sweepPendingCommands();
  metrics.addMetric('CommandsRedispatched', MetricUnit.Count, redispatched.length);
  metrics.addMetric('CommandsGivenUp', MetricUnit.Count, failed.length);
  if (redispatched.length > 0 || failed.length > 0) logger.warn('swept stuck commands', { redispatched, failed });
}

export const handler = middy(sweep).use(injectLambdaContext(logger, { resetKeys: true })).use(logMetrics(metrics));
