import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/** An API Gateway HTTP API (payload 2.0) event, as Lambda hands it to a handler. */
export function apiGatewayEvent(request: {
  method: 'GET' | 'POST';
  route: string;
  path: string;
  pathParameters?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}): APIGatewayProxyEventV2 {
  const requestId = crypto.randomUUID();
  return {
    version: '2.0',
    routeKey: `${request.method} ${request.route}`,
    rawPath: request.path,
    rawQueryString: '',
    headers: Object.fromEntries(Object.entries(request.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
    ...(request.pathParameters ? { pathParameters: request.pathParameters } : {}),
    ...(request.body === undefined ? {} : { body: request.body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: request.method, path: request.path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId,
      routeKey: `${request.method} ${request.route}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

/** A Lambda context without the deprecated callback members, which promise handlers never use. */
export function lambdaContext(functionName = 'test-function', remainingMs = 30_000): Context {
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => remainingMs,
  };
  return context as Context;
}

export interface JsonResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export function parseResponse(result: APIGatewayProxyStructuredResultV2): JsonResponse {
  return {
    statusCode: result.statusCode ?? 0,
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
    body: JSON.parse(result.body ?? '{}') as Record<string, unknown>,
  };
}
