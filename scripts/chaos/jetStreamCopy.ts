import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Db } from '../../core/db';
import { isEventMessage } from '../../core/publishing';
import type { Invariant } from './invariants';

/** Each integration message's key and place in its key's order: the outbox's, which is the order they were committed in. */
async function outboxOrder(db: Db): Promise<Map<string, { key: string; place: number }>> {
  const { rows } = await db.query<{ message_id: string; ordering_key: string }>('SELECT message_id, ordering_key FROM outbox ORDER BY tx_id, id');
  return new Map(rows.map((row, place) => [row.message_id, { key: row.ordering_key, place }]));
}

/** Counts each copy of a message, and the copies that come before one their order puts ahead of them. */
function copyCounter() {
  const seen = new Map<string, number>();
  const last = new Map<string, number>();
  let outOfOrder = 0;
  return {
    count(id: string, key: string, place: number) {
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (place <= (last.get(key) ?? -1)) outOfOrder += 1;
      last.set(key, place);
    },
    summary(stored: number, what: string) {
      const twice = [...seen.values()].filter((count) => count > 1).length;
      return { holds: seen.size === stored && twice === 0 && outOfOrder === 0, detail: `${String(seen.size)}/${String(stored)} ${what}, ${String(twice)} twice, ${String(outOfOrder)} out of order` };
    },
  };
}

/**
 * An independent consumer (ordered, ephemeral) reads the whole stream, to its
 * last sequence: each stored event once, each stream's in order; and each
 * integration message of the outbox once, each key's in order.
 */
export async function jetStreamCopy(db: Db, natsUrl: string, streamName: string): Promise<Invariant[]> {
  const outbox = await outboxOrder(db);
  const nc = await connect({ servers: natsUrl });
  try {
    const { state } = await (await jetstreamManager(nc)).streams.info(streamName);
    const events = copyCounter();
    const messages = copyCounter();
    let read = 0;
    let unknown = 0;
    if (state.messages > 0) {
      const consumed = await (await jetstream(nc).consumers.get(streamName)).consume({ max_messages: 1_000 });
      const giveUp = setTimeout(() => void consumed.close(), 300_000);
      for await (const message of consumed) {
        read += 1;
        // As a consumer tells them apart: an integration message may carry an Event-Id of another's.
        if (isEventMessage(message)) {
          events.count(message.headers?.get('Event-Id') ?? '', message.headers?.get('Stream-Id') ?? '', Number(message.headers?.get('Stream-Version')));
        } else {
          const messageId = message.headers?.get('Nats-Msg-Id') ?? '';
          const stored = outbox.get(messageId);
          if (stored) messages.count(messageId, stored.key, stored.place);
          else unknown += 1;
        }
        if (message.seq >= state.last_seq) break;
      }
      clearTimeout(giveUp);
    }
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    const eventCopies = events.summary(rows[0]?.n ?? 0, 'events');
    const messageCopies = messages.summary(outbox.size, 'integration messages');
    const reading = `${String(read)} messages read of ${String(state.messages)}`;
    return [
      { name: 'every stored event in JetStream once, in per-stream order', holds: eventCopies.holds, detail: `${eventCopies.detail}; ${reading}` },
      {
        name: 'every integration message in JetStream once, in per-key order',
        holds: messageCopies.holds && unknown === 0,
        detail: `${messageCopies.detail}, ${String(unknown)} not in the outbox`,
      },
    ];
  } finally {
    await nc.close();
  }
}
