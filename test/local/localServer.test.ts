import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_BODY_BYTES, startLocalServer, type LocalRoute, type LocalServer } from '../../functions/local';

describe('the local HTTP runtime', () => {
  const calls: { event: APIGatewayProxyEventV2; context: Context; remaining: number }[] = [];
  const onError = vi.fn();
  const record: LocalRoute['handler'] = (event, context) => {
    calls.push({ event, context, remaining: context.getRemainingTimeInMillis() });
    return Promise.resolve({
      statusCode: 202,
      headers: { 'content-type': 'application/json', 'x-count': 3 },
      cookies: ['seen=1; Path=/', 'theme=dark'],
      body: JSON.stringify({ accepted: event.pathParameters?.type }),
    });
  };
  const routes: LocalRoute[] = [
    { method: 'POST', path: '/commands/{type}', handler: record },
    { method: 'ANY', path: '/files/{path+}', handler: record, functionName: 'files', timeoutMs: 5_000 },
    { method: 'GET', path: '/binary', handler: () => Promise.resolve({ body: Buffer.from([0, 1, 2]).toString('base64'), isBase64Encoded: true }) },
    { method: 'GET', path: '/boom', handler: () => Promise.reject(new Error('handler failed')) },
  ];
  let server: LocalServer;
  beforeAll(async () => {
    server = await startLocalServer({ port: 0, routes, onError });
  });
  afterAll(() => server.close());

  const lastCall = () => {
    const call = calls[calls.length - 1];
    if (!call) throw new Error('the handler was not called');
    return call;
  };

  it('turns a request into a payload-format-2.0 event and writes the result back', async () => {
    const before = Date.now();
    const response = await fetch(`${server.url}/commands/Deposit?dryRun=1&tag=a&tag=b%20c`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Correlation-Id': 'corr-1', Cookie: 'session=abc; theme=light' },
      body: JSON.stringify({ amount: 5 }),
    });
    const { event, context, remaining } = lastCall();
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /commands/{type}',
      rawPath: '/commands/Deposit',
      rawQueryString: 'dryRun=1&tag=a&tag=b%20c',
      queryStringParameters: { dryRun: '1', tag: 'a,b c' },
      pathParameters: { type: 'Deposit' },
      cookies: ['session=abc', 'theme=light'],
      headers: { 'content-type': 'application/json', 'x-correlation-id': 'corr-1' },
      body: '{"amount":5}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/commands/Deposit', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
        routeKey: 'POST /commands/{type}',
        stage: '$default',
        domainName: server.url.slice('http://'.length),
      },
    });
    expect(event.headers).not.toHaveProperty('cookie');
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(context).toMatchObject({ functionName: 'post-commands-type', awsRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown });
    expect(remaining).toBeGreaterThan(25_000);
    expect(remaining).toBeLessThanOrEqual(30_000);

    expect(response.status).toBe(202);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-count')).toBe('3');
    expect(response.headers.getSetCookie()).toEqual(['seen=1; Path=/', 'theme=dark']);
    expect(response.headers.get('apigw-requestid')).toBe(event.requestContext.requestId);
    expect(await response.json()).toEqual({ accepted: 'Deposit' });
  });

  it('leaves out what a request lacks, and combines repeated headers with commas', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const sent = httpRequest(`${server.url}/files/a%20b/c.txt`, { method: 'DELETE', headers: { 'x-multi': ['1', '2'] } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      });
      sent.on('error', reject);
      sent.end();
    });
    expect(status).toBe(202);
    const { event, context, remaining } = lastCall();
    expect(event.routeKey).toBe('ANY /files/{path+}');
    expect(event.rawPath).toBe('/files/a%20b/c.txt');
    expect(event.pathParameters).toEqual({ path: 'a b/c.txt' });
    expect(event.headers['x-multi']).toBe('1,2');
    expect(event.rawQueryString).toBe('');
    for (const absent of ['queryStringParameters', 'cookies', 'body']) expect(event).not.toHaveProperty(absent);
    expect(context.functionName).toBe('files');
    expect(remaining).toBeLessThanOrEqual(5_000);
  });

  it('answers 404 ROUTE_NOT_FOUND, in the usual error shape, when no route matches the path', async () => {
    for (const [method, path] of [['GET', '/nowhere'], ['POST', '/commands/a/b']] as const) {
      const response = await fetch(`${server.url}${path}`, { method });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ code: 'ROUTE_NOT_FOUND', message: `No route for ${method} ${path}`, details: { method, path } });
    }
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow when routes match the path but not the method', async () => {
    for (const [method, path, allowed] of [['GET', '/commands/Deposit', ['POST']], ['DELETE', '/binary', ['GET']]] as const) {
      const response = await fetch(`${server.url}${path}`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe(allowed.join(', '));
      expect(await response.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED', details: { method, path, allowed } });
    }
  });

  it('answers 500 INTERNAL_ERROR when the handler throws, telling onError', async () => {
    const response = await fetch(`${server.url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ code: 'INTERNAL_ERROR', message: 'Something went wrong on our side', details: {} });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'handler failed' }), 'GET /boom');
  });

  it('refuses a body Lambda could not take with 413 PAYLOAD_TOO_LARGE, without calling the handler', async () => {
    const before = calls.length;
    const response = await fetch(`${server.url}/commands/Big`, { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES + 1) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: `The body is over the limit of ${MAX_BODY_BYTES} bytes`,
      details: { limitBytes: MAX_BODY_BYTES },
    });
    expect(calls).toHaveLength(before);
  });

  it('decodes a base64 body and defaults the status to 200', async () => {
    const response = await fetch(`${server.url}/binary`);
    expect(response.status).toBe(200);
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([0, 1, 2]);
  });
});
