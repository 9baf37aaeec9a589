import type { Queryable } from '../db';
import { checkpointAfterPage } from '../eventstore';
import type { FeedSource } from '../processing';
import { storedMessage, type StoredMessage, type StoredMessageRow } from './storedMessage';

/** An integration message as the outbox holds it, with its place in the outbox's order. */
export interface OutboxMessage extends StoredMessage {
  txId: bigint;
  id: bigint;
  /** Parked: skipped. It goes out again only when requeued. */
  parked: boolean;
}

interface OutboxRow extends StoredMessageRow {
  id: string;
  tx_id: string;
}

/** A short page's last row: the newest message's position below the horizon, nothing else. */
interface HeadRow {
  id: string;
  tx_id: string;
  message_id: null;
}

// A short page ends with the head's position (a row without a message id), which moves
// the checkpoint past what other partitions hold (migrations/0023).
const PAGE_SQL = `SELECT id, tx_id, message_id, ordering_key, subject, payload, headers
  FROM outbox_page_with_head($1, $2, $3, $4, $5) WITH ORDINALITY ORDER BY ordinality`;

// Counts what a partition has past its checkpoint, up to a limit, and the age of the
// oldest, in the page's order. Every committed message counts, also those the page
// still holds back behind a transaction open elsewhere: they are waiting as much as the rest.
// A message parked behind one still waiting is past the checkpoint too, and counted as parked.
const LAG_SQL = `
  SELECT count(*)::int AS items, coalesce(extract(epoch FROM statement_timestamp() - min(w.created_at)), 0)::float8 AS oldest_age_seconds
  FROM (
    SELECT o.created_at FROM outbox o
    WHERE o.published_at IS NULL AND o.parked_at IS NULL
      AND NOT EXISTS (SELECT FROM parked_messages p WHERE p.message_id = o.message_id AND p.source = 'outbox')
      AND (o.tx_id, o.id) > ($1::xid8, $2::bigint)
      AND stream_partition(o.ordering_key, $4::integer) = $5::integer
    ORDER BY o.tx_id, o.id
    LIMIT $3) AS w`;

const PARKED_SQL = "SELECT message_id FROM parked_messages WHERE message_id = ANY ($1::uuid[]) AND source = 'outbox'";

/**
 * The outbox (integration messages) as the publisher reads it: split by
 * ordering key, in the order rows were written, never skipping one (see
 * outbox_page_with_head). The checkpoint is a row's (tx_id, id): the page's
 * last, or after a short page the newest below the horizon. A page's parked
 * messages are looked up and marked (a page read again behind a message still
 * waiting holds them), also those parked by another instance since this run began.
 */
export function outboxMessages(): FeedSource<OutboxMessage> {
  return {
    async read(db, { after, limit, partition }) {
      const params = [after.txId.toString(), after.position.toString(), limit, partition.count, partition.index];
      const { rows: read } = await db.query<OutboxRow | HeadRow>(PAGE_SQL, params, { name: 'publisher_outbox_page' });
      const rows = read.filter((row): row is OutboxRow => row.message_id !== null);
      const head = read.find((row) => row.message_id === null);
      const parked = rows.length > 0 ? await parkedAmong(db, rows.map((row) => row.message_id)) : NONE_PARKED;
      const items = rows.map((row) => ({
        ...storedMessage(row),
        txId: BigInt(row.tx_id),
        id: BigInt(row.id),
        parked: parked.has(row.message_id),
      }));
      const last = items[items.length - 1];
      const checkpoint = checkpointAfterPage(after, last && { txId: last.txId, position: last.id }, head && { txId: BigInt(head.tx_id), position: BigInt(head.id) });
      return { items, checkpoint, caughtUp: items.length < limit };
    },
    positionOf: (message) => ({ txId: message.txId, position: message.id }),
    idOf: (message) => message.messageId,
    lag: outboxLag,
  };
}

const NONE_PARKED: ReadonlySet<string> = new Set();

async function parkedAmong(db: Queryable, messageIds: readonly string[]): Promise<ReadonlySet<string>> {
  const { rows } = await db.query<{ message_id: string }>(PARKED_SQL, [messageIds], { name: 'publisher_outbox_parked' });
  return new Set(rows.map((row) => row.message_id));
}

/** What an outbox partition has past its checkpoint and waits to be published. */
const outboxLag: FeedSource<OutboxMessage>['lag'] = async (db, { after, partition, limit }) => {
  const params = [after.txId.toString(), after.position.toString(), limit + 1, partition.count, partition.index];
  const { rows } = await db.query<{ items: number; oldest_age_seconds: number }>(LAG_SQL, params);
  const items = rows[0]?.items ?? 0;
  return { items: Math.min(items, limit), capped: items > limit, oldestAgeSeconds: Math.max(0, rows[0]?.oldest_age_seconds ?? 0) };
};
