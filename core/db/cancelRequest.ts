import net from 'node:net';

/** The server a backend runs on, and the key its start-up gave the client for cancelling its statements. */
export interface BackendKey {
  host: string;
  port: number;
  processID: number;
  secretKey: number;
}

const CANCEL_REQUEST_CODE = 80_877_102;
const CANCEL_REQUEST_LENGTH = 16;

/**
 * Asks the server to cancel the backend's running statement: PostgreSQL's
 * CancelRequest, on a connection of its own, which the server answers only by
 * closing it. Settles once the request is written, or could not be (never
 * rejects). Its socket does not keep the process alive, and is dropped after
 * `timeoutMs` if the server never closes it. A cancel can reach a statement
 * after the one meant, so it is sent only for a connection that will run
 * nothing more.
 */
export function sendCancelRequest(key: BackendKey, timeoutMs: number): Promise<void> {
  const packet = Buffer.alloc(CANCEL_REQUEST_LENGTH);
  packet.writeInt32BE(CANCEL_REQUEST_LENGTH, 0);
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  packet.writeInt32BE(key.processID, 8);
  packet.writeInt32BE(key.secretKey, 12);
  // A host that is a directory names the server's Unix socket, as libpq and pg read it.
  return new Promise<void>((settle) => {
    const socket = key.host.startsWith('/') ? net.connect({ path: `${key.host}/.s.PGSQL.${String(key.port)}` }) : net.connect({ host: key.host, port: key.port });
    socket.unref();
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      settle();
    });
    socket.on('connect', () => {
      socket.end(packet, () => {
        settle();
      });
    });
  });
}
