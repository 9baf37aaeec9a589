import type { NatsConnection } from '@nats-io/transport-node';
import { answerWithin } from './answerWithin';

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

/**
 * After a question JetStream left unanswered: the socket may have died without
 * a word (kept across a Lambda freeze), which the client's own pings would
 * notice only minutes later, each run stalling until its deadline meanwhile.
 * Asked for a ping of its own, a server that answers is alive (JetStream slow,
 * or restarting) and keeps its connection; one that does not has the client
 * dial anew, which also drops what it holds unsent. While the client is
 * reconnecting already, a reconnect does nothing.
 */
export function reconnectIfSilent(nc: NatsConnection, withinMs: number): Promise<void> {
  return answerWithin(nc.rtt(), withinMs).then(
    () => undefined,
    () => nc.reconnect().catch(() => undefined),
  );
}
