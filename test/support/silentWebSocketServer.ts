import { createHash } from 'node:crypto';
import net from 'node:net';
import { serveLocally, type LocalServer } from './localServer';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Takes each WebSocket's upgrade and then says nothing, a close frame included:
 * a proxy that hung, or a network that drops what comes back.
 */
export function startSilentWebSocketServer(): Promise<LocalServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let request = '';
    const readUpgrade = (chunk: Buffer) => {
      request += chunk.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      socket.off('data', readUpgrade);
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(request)?.[1] ?? '';
      const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('data', () => undefined);
    };
    socket.on('data', readUpgrade);
  });
  return serveLocally(server, sockets);
}
