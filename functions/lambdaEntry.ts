import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics, tracer } from './observability';

/**
 * A Lambda entry point around a generic handler: the Powertools logger with
 * the invocation's context (keys reset per invocation), metrics flushed as EMF
 * at the end, and X-Ray tracing where it can trace.
 */
export function lambdaEntry<Event, Result>(handler: (event: Event, context: Context) => Promise<Result>) {
  const withLogging = middy(handler).use(injectLambdaContext(logger, { resetKeys: true }));
  return (tracer ? withLogging.use(captureLambdaHandler(tracer)) : withLogging).use(logMetrics(metrics));
}
