import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ErrorBody } from '../http/httpResponse';

/**
 * The local server's own answers, for requests no handler gets to answer.
 * They take the API's one error shape, `{ code, message, details }`, so a
 * client handles them like any other refusal.
 */
const gatewayError = (statusCode: number, body: ErrorBody, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const routeNotFound = (method: string, path: string): APIGatewayProxyStructuredResultV2 =>
  gatewayError(404, { code: 'ROUTE_NOT_FOUND', message: `No route for ${method} ${path}`, details: { method, path } });

/** A known path asked with a method none of its routes takes; `Allow` lists those they do. */
export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]): APIGatewayProxyStructuredResultV2 =>
  gatewayError(
    405,
    { code: 'METHOD_NOT_ALLOWED', message: `${path} does not take ${method}; it takes ${allowed.join(', ')}`, details: { method, path, allowed } },
    { allow: allowed.join(', ') },
  );

/** No token, or not the one configured: nothing about the route is told. */
export const unauthorized = (): APIGatewayProxyStructuredResultV2 =>
  gatewayError(401, { code: 'UNAUTHORIZED', message: 'Send Authorization: Bearer <token>', details: {} }, { 'www-authenticate': 'Bearer' });

export const payloadTooLarge = (limitBytes: number): APIGatewayProxyStructuredResultV2 =>
  gatewayError(413, { code: 'PAYLOAD_TOO_LARGE', message: `The body is over the limit of ${limitBytes} bytes`, details: { limitBytes } });

/** A handler that threw instead of answering; what it threw goes to `onError`, not to the client. */
export const internalError = (): APIGatewayProxyStructuredResultV2 =>
  gatewayError(500, { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side', details: {} });
