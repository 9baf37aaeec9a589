import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, tracer, writeInvocationMetrics } from './observability';

// Also when the handler throws.
const writeMetrics: MiddlewareObj = { after: writeInvocationMetrics, onError: writeInvocationMetrics };

/**
 * A Lambda entry point around a generic handler: the Powertools logger with
 * the invocation's context (keys reset per invocation), metrics flushed as EMF
 * at the end (the invocation's set, and one per set of labels), and X-Ray
 * tracing where it can trace.
 */
export function lambdaEntry<Event, Result>(handler: (event: Event, context: Context) => Promise<Result>) {
  const withLogging = middy(handler).use(injectLambdaContext(logger, { resetKeys: true }));
  return (tracer ? withLogging.use(captureLambdaHandler(tracer)) : withLogging).use(writeMetrics);
}
