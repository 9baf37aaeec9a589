import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { answerBrowserRequest, BrowserConflictError, BrowserInputError, BrowserNotFoundError } from '../../core/browser';
import { log } from '../../core/observability';
import type { RuntimeLoader } from '../runtime';
import { browserPage } from './browserPage';
import { errorResponse } from './errorResponse';
import { jsonResponse } from './httpResponse';
import { unstorableTextResponse } from './requestText';

type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const definedOnly = (values: Record<string, string | undefined> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(values ?? {}).flatMap(([name, value]) => (value === undefined ? [] : [[name, value]])));

/**
 * The event browser, in one function: `GET /browser` is the page; everything
 * under `/browser/api/` its JSON API (reads, and two actions by POST).
 */
export function browserHandler(load: RuntimeLoader): HttpHandler {
  return async (event) => {
    const refused = unstorableTextResponse(event);
    if (refused) return refused;
    const path = event.rawPath.replace(/\/+$/, '');
    const method = event.requestContext.http.method;
    if (method === 'GET' && (path === '/browser' || path === '/browser/index.html')) {
      return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: browserPage() };
    }
    if (!path.startsWith('/browser/api/')) {
      return jsonResponse(404, { code: 'ROUTE_NOT_FOUND', message: `Nothing at ${path}`, details: { path } });
    }
    try {
      const { browser } = await load();
      return jsonResponse(200, await answerBrowserRequest(browser, method, path.slice('/browser/api/'.length), definedOnly(event.queryStringParameters)));
    } catch (error) {
      if (error instanceof BrowserInputError) return jsonResponse(400, { code: error.code, message: error.message, details: error.details });
      if (error instanceof BrowserNotFoundError) return jsonResponse(404, { code: error.code, message: error.message, details: error.details });
      if (error instanceof BrowserConflictError) return jsonResponse(409, { code: error.code, message: error.message, details: error.details });
      log.error('browser request failed', { path, error: error instanceof Error ? error : String(error) });
      return errorResponse(error);
    }
  };
}
