import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { getApp } from '../app';
import { logger, metrics, tracer } from '../observability';
import { commandRequestOf } from './commandRequest';
import { errorResponse } from './errorResponse';
import { correlationIdOf } from './headerIds';
import { jsonResponse } from './httpResponse';

const wantsAsync = (event: APIGatewayProxyEventV2) => /\brespond-async\b/i.test(event.headers.prefer ?? '');

/**
 * `POST /commands/{type}`: runs the command and answers with its outcome (200)
 * or why not; with `Prefer: respond-async`, stores it for the worker and answers
 * 202 with where to read its status.
 */
async function postCommand(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const started = performance.now();
  const correlationId = correlationIdOf(event);
  try {
    const request = commandRequestOf(event);
    logger.appendKeys({ correlationId, commandType: request.type, commandId: request.commandId });
    const { bus, asyncCommands, nudges } = await getApp();
    if (wantsAsync(event)) {
      const sent = await asyncCommands.send(request);
      metrics.addMetric('CommandAccepted', MetricUnit.Count, 1);
      return jsonResponse(202, sent, { 'x-correlation-id': correlationId, location: `/commands/${sent.commandId}`, 'preference-applied': 'respond-async' });
    }
    const outcome = await bus.execute(request);
    if (!outcome.replayed) await nudges.afterCommit();
    metrics.addMetric(outcome.replayed ? 'CommandReplayed' : 'CommandSucceeded', MetricUnit.Count, 1);
    logger.info('command done', { streamId: outcome.streamId, version: outcome.version, replayed: outcome.replayed });
    return jsonResponse(200, outcome, { 'x-correlation-id': correlationId });
  } catch (error) {
    const response = errorResponse(error, { 'x-correlation-id': correlationId });
    if ((response.statusCode ?? 500) >= 500) logger.error('command failed', { error: error instanceof Error ? error : String(error) });
    else logger.info('command refused', { error: error instanceof Error ? error.message : String(error) });
    metrics.addMetric('CommandRefused', MetricUnit.Count, 1);
    return response;
  } finally {
    metrics.addMetric('CommandLatency', MetricUnit.Milliseconds, performance.now() - started);
  }
}

const withLogging = middy(postCommand).use(injectLambdaContext(logger, { resetKeys: true }));

export const handler = (tracer ? withLogging.use(captureLambdaHandler(tracer)) : withLogging).use(logMetrics(metrics));
