import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections taken since the proxy started. */
  accepted(): number;
  /** Closes every connection and stops listening: the target looks down. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /**
   * The connections open now go silent both ways, without a word to either end:
   * a peer gone as a socket kept across a Lambda freeze can find it. New ones pass.
   */
  silence(): void;
  /**
   * As `silence`, and every connection taken from now on is silent too: the
   * target looks like a server that takes sockets and never answers.
   */
  silenceAll(): void;
  close(): Promise<void>;
}

/** Keeps both ends of a proxied connection in `sockets` while open; an error on either closes both. */
export function trackPair(sockets: Set<net.Socket>, client: net.Socket, upstream: net.Socket): void {
  for (const socket of [client, upstream]) {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
}

/** A TCP pipe to a local service that a test can cut and restore, to take the service "down". */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  let accepted = 0;
  let silentFromNowOn = false;
  const server = net.createServer((client) => {
    accepted += 1;
    if (silentFromNowOn) {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => client.destroy());
      client.resume();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    trackPair(sockets, client, upstream);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = (): Promise<void> =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (server.listening) {
        server.close(() => {
          resolve();
        });
      } else {
        resolve();
      }
    });
  const silence = () => {
    for (const [client, upstream] of pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      // Read and dropped: each end's writes still go out, as into a network that loses them.
      for (const socket of [client, upstream]) socket.on('data', () => undefined).resume();
    }
    pairs.clear();
  };
  const silenceAll = () => {
    silentFromNowOn = true;
    silence();
  };
  const port = await listen(0);
  return { port, accepted: () => accepted, cut: stop, restore: () => listen(port).then(() => undefined), silence, silenceAll, close: stop };
}
