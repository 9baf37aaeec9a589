// The functions benchmark's baseline: an empty handler behind the same middy
// middlewares and Powertools logger and metrics every function carries.
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';

const logger = new Logger({ serviceName: 'baseline' });
const metrics = new Metrics({ serviceName: 'baseline', namespace: 'Baseline' });

export const handler = middy(() => Promise.resolve({ statusCode: 204 }))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
