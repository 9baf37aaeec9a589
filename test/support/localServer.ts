import type net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface LocalServer {
  port: number;
  /** Destroys every socket it took, then stops listening. */
  close(): Promise<void>;
}

/** Listens on a free local port; `close` ends the sockets the server keeps in `sockets` too. */
export async function serveLocally(server: net.Server, sockets: ReadonlySet<net.Socket>): Promise<LocalServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
