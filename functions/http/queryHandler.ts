import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { log } from '../../core/observability';
import { QueryInputError } from '../../core/service';
import type { RuntimeLoader } from '../runtime';
import { errorResponse } from './errorResponse';
import { HttpInputError, jsonResponse } from './httpResponse';
import { unstorableTextResponse } from './requestText';

/** API Gateway's parameter maps may hold undefined values in their type; they never do on the wire. */
const definedOnly = (values: Record<string, string | undefined> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(values ?? {}).flatMap(([name, value]) => (value === undefined ? [] : [[name, value]])));

type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Every query route of the service, in one function: the route API Gateway
 * matched (`GET /accounts/{id}`, its route key) names the query to run.
 */
export function queryHandler(load: RuntimeLoader): HttpHandler {
  return async (event) => {
    const refused = unstorableTextResponse(event);
    if (refused) return refused;
    try {
      const runtime = await load();
      const path = event.routeKey.replace(/^GET /, '');
      const query = (runtime.service.queries ?? []).find((candidate) => candidate.path === path);
      if (!query) return jsonResponse(404, { code: 'ROUTE_NOT_FOUND', message: `No query for ${event.routeKey}`, details: { routeKey: event.routeKey } });
      const answer = await query.handle({ pathParameters: definedOnly(event.pathParameters), query: definedOnly(event.queryStringParameters) }, runtime.reads());
      if (answer.kind === 'found') return jsonResponse(200, answer.body);
      return jsonResponse(404, { code: answer.code, message: answer.message, details: answer.details ?? {} });
    } catch (error) {
      if (error instanceof QueryInputError) return errorResponse(new HttpInputError(400, error.code, error.message, { issues: error.issues }));
      log.error('query failed', { routeKey: event.routeKey, error: error instanceof Error ? error : String(error) });
      return errorResponse(error);
    }
  };
}
