import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { trackPair } from './tcpProxy';

export interface ThrottledTcpProxy {
  port: number;
  /** Bytes the clients sent through it so far, towards the target. */
  bytesUp(): number;
  close(): Promise<void>;
}

/** Passes chunks on no faster than `bytesPerSecond`, as a slow link would. */
function throttle(bytesPerSecond: number, counted: (bytes: number) => void): Transform {
  let freeAt = performance.now();
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      counted(chunk.length);
      freeAt = Math.max(freeAt, performance.now()) + (chunk.length / bytesPerSecond) * 1000;
      setTimeout(() => {
        done(null, chunk);
      }, Math.max(0, freeAt - performance.now()));
    },
  });
}

/** A TCP pipe to a local service whose link towards it carries `bytesPerSecond` at most. */
export async function startThrottledTcpProxy(targetPort: number, bytesPerSecond: number): Promise<ThrottledTcpProxy> {
  const sockets = new Set<net.Socket>();
  let bytesUp = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    trackPair(sockets, client, upstream);
    client.pipe(throttle(bytesPerSecond, (bytes) => (bytesUp += bytes))).pipe(upstream);
    upstream.pipe(client);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
  return {
    port,
    bytesUp: () => bytesUp,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
