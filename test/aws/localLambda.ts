import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaClientConfig } from '@aws-sdk/client-lambda';

export interface ReceivedInvoke {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface LocalLambda {
  invokes: ReceivedInvoke[];
  /** A client configuration aimed at this server, with dummy credentials and region. */
  clientConfig: LambdaClientConfig;
  close(): Promise<void>;
}

/**
 * A stand-in for the Lambda Invoke API on 127.0.0.1: records each request and
 * answers with `status` (202, as Lambda does for a queued `Event`, by default).
 * `onInvoke` plays the function, after the answer, as Lambda runs it after queuing;
 * `delayMs` holds every answer back that long (a slow or unreachable Lambda API).
 */
export async function startLocalLambda(
  options: { status?: () => number; onInvoke?: (invoke: ReceivedInvoke) => void; delayMs?: number } = {},
): Promise<LocalLambda> {
  const invokes: ReceivedInvoke[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const invoke = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      invokes.push(invoke);
      const answer = () => {
        const status = options.status?.() ?? 202;
        response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': crypto.randomUUID() });
        response.end(status === 202 ? '' : JSON.stringify({ Type: 'Service', message: 'the stand-in refused' }));
        options.onInvoke?.(invoke);
      };
      if (options.delayMs) setTimeout(answer, options.delayMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    invokes,
    clientConfig: {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
      // One try: the failure tests want the dispatcher's error, not the SDK's retries.
      maxAttempts: 1,
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
}
