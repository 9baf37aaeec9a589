import type { NatsConnection } from '@nats-io/transport-node';

// Down from the first sign of it: a forced reconnect (ours, after an unanswered check) or
// a stale connection (the client's pings) comes before the disconnect, which waits for
// the socket's last write, and on a silent peer may wait long.
const LINK_DOWN = new Set(['disconnect', 'reconnecting', 'forceReconnect', 'staleConnection']);

/** Whether the client is connected now, as its status says: down from a disconnect (or its first sign) until it reconnects. */
export function linkOf(nc: NatsConnection): { up: boolean } {
  const link = { up: true };
  void (async () => {
    for await (const status of nc.status()) {
      if (LINK_DOWN.has(status.type)) link.up = false;
      else if (status.type === 'reconnect') link.up = true;
    }
  })();
  return link;
}
