import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { trackPair } from './tcpProxy';

export interface AnswerDroppingProxy {
  port: number;
  /**
   * The next statement whose text holds the marker goes through (after `before`,
   * if given, has run) and runs on the server, but its answer, and every later
   * one on that connection, is dropped: a statement that committed unseen.
   */
  arm(before?: () => Promise<void>): void;
  /** Statements whose answer was dropped so far. */
  dropped(): number;
  close(): Promise<void>;
}

/** A TCP pipe to PostgreSQL that drops the answers to a marked statement, once armed. */
export async function startAnswerDroppingProxy(targetPort: number, marker: string): Promise<AnswerDroppingProxy> {
  let armed = false;
  let before: () => Promise<void> = () => Promise.resolve();
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    let mute = false;
    trackPair(sockets, client, upstream);
    client.on('data', (chunk: Buffer) => {
      if (armed && chunk.toString('latin1').includes(marker)) {
        armed = false;
        mute = true;
        dropped += 1;
        client.pause();
        void before().then(() => {
          upstream.write(chunk);
          client.resume();
        });
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!mute) client.write(chunk);
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => { resolve((server.address() as AddressInfo).port); }));
  return {
    port,
    arm: (hook) => {
      armed = true;
      before = hook ?? (() => Promise.resolve());
    },
    dropped: () => dropped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
