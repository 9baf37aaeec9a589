import * as z from '../schema';
import type { FeedSource } from '../processing';
import type { PublishMessage } from './PublishMessage';

/** An integration message as the outbox holds it, with its place in the outbox's order. */
export interface OutboxMessage extends PublishMessage {
  txId: bigint;
  id: bigint;
}

interface OutboxRow {
  id: string;
  tx_id: string;
  message_id: string;
  ordering_key: string;
  subject: string;
  payload: string;
  headers: unknown;
}

const Headers = z.record(z.string(), z.string());

const PAGE_SQL = `SELECT id, tx_id, message_id, ordering_key, subject, payload, headers FROM outbox_page($1, $2, $3, $4, $5)`;

// Counts what a partition has past its checkpoint, up to a limit, and the age of the oldest.
const LAG_SQL = `
  SELECT count(*)::int AS items, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age_seconds
  FROM outbox_page($1, $2, $3, $4, $5)`;

/**
 * The outbox (integration messages) as the publisher reads it: split by
 * ordering key, in the order rows were written, never skipping one (see
 * outbox_page). The checkpoint is a row's (tx_id, id).
 */
export const outboxMessages: FeedSource<OutboxMessage> = {
  async read(db, { after, limit, partition }) {
    const params = [after.txId.toString(), after.position.toString(), limit, partition.count, partition.index];
    const { rows } = await db.query<OutboxRow>(PAGE_SQL, params, { name: 'publisher_outbox_page' });
    const items = rows.map((row) => ({
      txId: BigInt(row.tx_id),
      id: BigInt(row.id),
      messageId: row.message_id,
      orderingKey: row.ordering_key,
      subject: row.subject,
      payload: row.payload,
      headers: Headers.parse(row.headers),
    }));
    const last = items[items.length - 1];
    return { items, checkpoint: last ? { txId: last.txId, position: last.id } : after, caughtUp: items.length < limit };
  },
  positionOf: (message) => ({ txId: message.txId, position: message.id }),
  idOf: (message) => message.messageId,
  async lag(db, { after, partition, limit }) {
    const params = [after.txId.toString(), after.position.toString(), limit + 1, partition.count, partition.index];
    const { rows } = await db.query<{ items: number; oldest_age_seconds: number }>(LAG_SQL, params);
    const items = rows[0]?.items ?? 0;
    return { items: Math.min(items, limit), capped: items > limit, oldestAgeSeconds: Math.max(0, rows[0]?.oldest_age_seconds ?? 0) };
  },
};
