import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { RouteMatch } from './routes';

/** What the local server read from one HTTP request. */
export interface LocalRequest {
  method: string;
  /** The path as sent, still percent-encoded. */
  rawPath: string;
  /** Everything after `?`, as sent. */
  rawQueryString: string;
  /** Lower-case header names, each with all the values it was sent with. */
  headers: Record<string, readonly string[]>;
  body: string;
  /** `HTTP/1.1` */
  protocol: string;
  sourceIp: string;
  requestId: string;
  timeEpoch: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (value: number) => String(value).padStart(2, '0');

/** API Gateway's `requestContext.time`: `22/Nov/2026:06:35:30 +0000`. */
function accessLogTime(epoch: number): string {
  const at = new Date(epoch);
  const time = [at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds()].map(pad).join(':');
  return `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()] ?? ''}/${at.getUTCFullYear()}:${time} +0000`;
}

/** Repeated query parameters arrive combined with commas, as in payload format 2.0. */
function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  const combined = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(rawQueryString)) combined.set(name, [...(combined.get(name) ?? []), value]);
  if (combined.size === 0) return undefined;
  return Object.fromEntries([...combined].map(([name, values]) => [name, values.join(',')]));
}

/**
 * The event API Gateway's HTTP API sends a Lambda for a request (payload format
 * 2.0): repeated headers combined with commas, cookies moved from the `cookie`
 * header to `cookies`, absent fields (query, path parameters, body) left out.
 * The body is passed as text and never base64-encoded.
 */
export function toApiGatewayEvent(request: LocalRequest, match: Pick<RouteMatch, 'routeKey' | 'pathParameters'>): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, values] of Object.entries(request.headers)) {
    if (name === 'cookie') {
      cookies.push(...values.flatMap((value) => value.split(';')).map((cookie) => cookie.trim()).filter(Boolean));
    } else {
      headers[name] = values.join(',');
    }
  }
  const domainName = headers.host ?? 'localhost';
  const query = queryParameters(request.rawQueryString);
  return {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    ...(Object.keys(match.pathParameters).length > 0 ? { pathParameters: { ...match.pathParameters } } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split(/[.:]/)[0] ?? domainName,
      http: {
        method: request.method,
        path: request.rawPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId,
      routeKey: match.routeKey,
      stage: '$default',
      time: accessLogTime(request.timeEpoch),
      timeEpoch: request.timeEpoch,
    },
    ...(request.body === '' ? {} : { body: request.body }),
    isBase64Encoded: false,
  };
}
