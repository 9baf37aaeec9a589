import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { acceptTraceparent, contextFromTraceparent, currentTraceparent, inSpan, log, parseTraceparent, runInContext, SpanKind } from '../../core/observability';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { getCommandStatus, UnknownCommandTypeError } from '../../core/commands';
import { metrics } from '../observability';
import type { RuntimeLoader } from '../runtime';
import { commandRequestOf } from './commandRequest';
import { errorResponse } from './errorResponse';
import { correlationIdOf } from './headerIds';
import { jsonResponse } from './httpResponse';
import { unstorableTextResponse } from './requestText';

type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const wantsAsync = (event: APIGatewayProxyEventV2) => /\brespond-async\b/i.test(event.headers.prefer ?? '');

/** The longest a command's answer waits for its nudges; a nudge left unsent only waits for the next schedule. */
export const NUDGE_BUDGET_MS = 50;

const within = (work: Promise<unknown>, ms: number) =>
  Promise.race([work.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, ms).unref())]);

/**
 * `POST /commands/{type}`: runs a public command and answers with its outcome
 * (200) or why not; with `Prefer: respond-async`, stores it for the worker and
 * answers 202 with where to read its status. An internal command is unknown here.
 */
export function postCommandHandler(load: RuntimeLoader): HttpHandler {
  return async (event) => {
    const correlationId = correlationIdOf(event);
    const traceparent = event.headers.traceparent;
    // The request's span continues the caller's trace (a fresh one if it sent none or an invalid one);
    // every line logged while it runs carries its correlation id and trace.
    const tracestate = parseTraceparent(traceparent) ? event.headers.tracestate : undefined;
    const context = { correlationId, traceparent: acceptTraceparent(traceparent), ...(tracestate ? { tracestate } : {}) };
    const attributes = { 'http.request.method': 'POST', 'http.route': '/commands/{command}', 'url.path': event.rawPath };
    return runInContext(context, () =>
      inSpan('POST /commands/{command}', { kind: SpanKind.SERVER, parent: contextFromTraceparent(traceparent), attributes }, async (span) => {
        const response = await handlePostCommand(load, event, correlationId);
        span.setAttribute('http.response.status_code', response.statusCode ?? 200);
        return response;
      }),
    );
  };
}

async function handlePostCommand(load: RuntimeLoader, event: APIGatewayProxyEventV2, correlationId: string): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    // The command continues this request's trace: its span's where one records, else the accepted traceparent.
    const request = { ...commandRequestOf(event), traceparent: currentTraceparent() };
    const { bus, asyncCommands, nudges, service } = await load();
    if (!service.publicCommandTypes.has(request.type)) throw new UnknownCommandTypeError(request.type);
    if (wantsAsync(event)) {
      const sent = await asyncCommands.send(request);
      metrics.addMetric('CommandAccepted', MetricUnit.Count, 1);
      return jsonResponse(202, sent, { 'x-correlation-id': correlationId, location: `/commands/${sent.commandId}`, 'preference-applied': 'respond-async' });
    }
    const outcome = await bus.execute(request);
    if (!outcome.replayed) await within(nudges.afterCommit(), NUDGE_BUDGET_MS);
    log.info('command done', { commandType: outcome.commandType, commandId: outcome.commandId, streamId: outcome.streamId, version: outcome.version, replayed: outcome.replayed });
    return jsonResponse(200, outcome, { 'x-correlation-id': correlationId });
  } catch (error) {
    const response = errorResponse(error, { 'x-correlation-id': correlationId });
    if ((response.statusCode ?? 500) >= 500) log.error('command failed', { error: error instanceof Error ? error : String(error) });
    else log.info('command refused', { error: error instanceof Error ? error.message : String(error) });
    return response;
  }
}

const commandNotFound = (commandId: string) =>
  jsonResponse(404, { code: 'COMMAND_NOT_FOUND', message: `No command ${commandId}`, details: { commandId } });

/** `GET /commands/{id}`: what became of a public command: pending, succeeded with its outcome, or failed with its error. */
export function getCommandHandler(load: RuntimeLoader): HttpHandler {
  return async (event) => {
    const refused = unstorableTextResponse(event);
    if (refused) return refused;
    const commandId = event.pathParameters?.command ?? '';
    try {
      const { db, service } = await load();
      const status = await getCommandStatus(db, commandId);
      // An internal command's record stays as hidden as the command itself.
      if (!status || !service.publicCommandTypes.has(status.commandType)) return commandNotFound(commandId);
      return jsonResponse(200, status);
    } catch (error) {
      log.error('reading a command failed', { error: error instanceof Error ? error : String(error) });
      return errorResponse(error);
    }
  };
}
