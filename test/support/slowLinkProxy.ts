import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { trackPair } from './tcpProxy';

export interface SlowLinkProxy {
  port: number;
  /** Bytes the clients sent through it so far, towards the target. */
  bytesUp(): number;
  close(): Promise<void>;
}

export interface SlowLink {
  /** What the link carries towards the target at most; unbounded when left out. */
  bytesPerSecond?: number;
  /** How late every chunk arrives, each way: half the round trip the link adds. */
  delayMs?: number;
}

/** Passes chunks on in order, each `delayMs` late and no faster than `bytesPerSecond`. */
function slowed(link: SlowLink, counted: (bytes: number) => void): Transform {
  let freeAt = performance.now();
  let onTheirWay = 0;
  let ended: TransformCallback | undefined;
  return new Transform({
    // An end that comes while chunks are still on their way ends the stream after them.
    flush(done: TransformCallback) {
      if (onTheirWay === 0) done();
      else ended = done;
    },
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      counted(chunk.length);
      const now = performance.now();
      freeAt = Math.max(freeAt, now) + (link.bytesPerSecond === undefined ? 0 : (chunk.length / link.bytesPerSecond) * 1000);
      // Taken in as it comes (a delayed chunk does not hold the next one back), passed on when due.
      const dueIn = Math.max(0, freeAt - now) + (link.delayMs ?? 0);
      onTheirWay += 1;
      setTimeout(() => {
        onTheirWay -= 1;
        if (this.destroyed) return;
        this.push(chunk);
        if (onTheirWay === 0) ended?.();
      }, dueIn);
      if (link.bytesPerSecond === undefined) done();
      else setTimeout(done, Math.max(0, freeAt - now));
    },
  });
}

/** A TCP pipe to a local service over a link that is slow: short of bandwidth towards it, late both ways, or both. */
export async function startSlowLinkProxy(targetPort: number, link: SlowLink): Promise<SlowLinkProxy> {
  const sockets = new Set<net.Socket>();
  let bytesUp = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    trackPair(sockets, client, upstream);
    client.pipe(slowed(link, (bytes) => (bytesUp += bytes))).pipe(upstream);
    upstream.pipe(slowed(link.delayMs === undefined ? {} : { delayMs: link.delayMs }, () => undefined)).pipe(client);
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
