import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toApiGatewayEvent } from './apiGatewayEvent';
import { bearerMatches } from './bearerToken';
import { internalError, methodNotAllowed, payloadTooLarge, routeNotFound, unauthorized } from './gatewayErrors';
import { createLambdaContext } from './lambdaContext';
import { compileRoutes, type LocalRoute } from './routes';
import { writeResult } from './writeResponse';

/** Lambda refuses synchronous invocations whose event is over 6 MB, so larger bodies could never work on AWS. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface LocalServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1: the dev server answers this machine only. */
  host?: string;
  routes: readonly LocalRoute[];
  /** Told about each handler failure before the 500 is sent; default `console.error`. */
  onError?: (error: unknown, routeKey: string) => void;
  /** When set, every route but an open one asks for `Authorization: Bearer <token>`, as an authorizer would in AWS. */
  bearerToken?: string;
}

export interface LocalServer {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  /** Stops accepting requests and resolves once those in flight are answered. */
  close(): Promise<void>;
}

/** The whole body as text, or undefined when it is over `limit` bytes (read to the end all the same). */
async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** `POST /commands/{type}` -> `post-commands-type`: a valid Lambda name per route. */
const functionNameOf = (routeKey: string) =>
  routeKey.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * Serves a route table the way API Gateway's HTTP API and Lambda would: each
 * request becomes a payload-format-2.0 event and a Lambda context, and the
 * handler's structured result becomes the response. For `npm run dev`.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const routes = compileRoutes(options.routes);
  const onError = options.onError ?? ((error: unknown, routeKey: string) => {
    console.error(`${routeKey} failed:`, error);
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const method = request.method ?? 'GET';
    const found = routes.match(method, rawPath);
    if (options.bearerToken !== undefined && !found?.route.open && !bearerMatches(request.headers.authorization, options.bearerToken)) {
      writeResult(response, unauthorized(), requestId);
      return;
    }
    if (!found) {
      const allowed = routes.methodsAt(rawPath);
      const answer = allowed.length > 0 ? methodNotAllowed(method, rawPath, allowed) : routeNotFound(method, rawPath);
      writeResult(response, answer, requestId);
      return;
    }
    try {
      const body = await readBody(request, MAX_BODY_BYTES);
      if (body === undefined) {
        writeResult(response, payloadTooLarge(MAX_BODY_BYTES), requestId);
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(request.headersDistinct).flatMap(([name, values]) => (values ? [[name, values]] : [])),
      );
      const event = toApiGatewayEvent(
        {
          method,
          rawPath,
          rawQueryString: queryAt === -1 ? '' : target.slice(queryAt + 1),
          headers,
          body,
          protocol: `HTTP/${request.httpVersion}`,
          sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
          requestId,
          timeEpoch: Date.now(),
        },
        found,
      );
      const context = createLambdaContext({
        functionName: found.route.functionName ?? functionNameOf(found.routeKey),
        ...(found.route.timeoutMs === undefined ? {} : { timeoutMs: found.route.timeoutMs }),
      });
      writeResult(response, await found.route.handler(event, context), requestId);
    } catch (error) {
      onError(error, found.routeKey);
      // A failure after the response began (a bad header from the handler) can only cut the connection.
      if (response.headersSent) response.destroy();
      else writeResult(response, internalError(), requestId);
    }
  }

  const server = createServer((request, response) => {
    void serve(request, response);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        // Keep-alive connections with no request in flight would otherwise hold `close` open.
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
