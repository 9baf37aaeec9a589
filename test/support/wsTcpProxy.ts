import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData } from 'ws';

export interface WsTcpProxy {
  port: number;
  close(): Promise<void>;
}

const toBuffer = (data: RawData): Buffer =>
  Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);

/**
 * A WebSocket-to-TCP pipe speaking the Neon proxy convention
 * (`/v2?address=host:port`), so the Neon driver can reach a plain local
 * PostgreSQL. Only loopback targets are accepted.
 */
export async function startWsTcpProxy(): Promise<WsTcpProxy> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket, request) => {
    const address = new URL(request.url ?? '/', 'http://proxy').searchParams.get('address') ?? '';
    const [host, port] = address.split(':');
    if (host !== '127.0.0.1' && host !== 'localhost') {
      socket.close(1008, 'only loopback targets are allowed');
      return;
    }
    const tcp = net.connect(Number(port), host);
    tcp.setNoDelay(true);
    socket.on('message', (data) => tcp.write(toBuffer(data)));
    tcp.on('data', (chunk) => {
      socket.send(chunk);
    });
    tcp.on('close', () => {
      socket.close();
    });
    tcp.on('error', () => {
      socket.terminate();
    });
    socket.on('close', () => tcp.destroy());
    socket.on('error', () => tcp.destroy());
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => {
          resolve();
        });
      }),
  };
}
