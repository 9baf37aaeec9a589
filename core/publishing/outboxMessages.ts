import { checkpointAfterPage, LAG_SCAN_BOUND, type Checkpoint } from '../eventstore';
import type { FeedSource, SourcePage } from '../processing';
import { pageWindow, upToUnsettled } from './pageOverSettled';
import { storedMessage, type StoredMessage, type StoredMessageRow } from './storedMessage';

/** An integration message as the outbox holds it, with its place in the outbox's order. */
export interface OutboxMessage extends StoredMessage {
  txId: bigint;
  id: bigint;
  /**
   * Parked, or settled behind a message its partition still waits on (stored or
   * parked): skipped, its payload and headers left empty. A parked one goes out
   * again only when requeued.
   */
  settledBefore: boolean;
  /** Settled, and recorded so in published_ahead; one settled otherwise behind a waiting message is recorded by the next batch. */
  recordedAhead: boolean;
}

interface OutboxRow extends StoredMessageRow {
  id: string;
  tx_id: string;
  settled: boolean;
  recorded: boolean;
}

/** A short page's last row: the newest message's position below the horizon, nothing else. */
interface HeadRow {
  id: string;
  tx_id: string;
  message_id: null;
}

// A short page ends with the head's position (a row without a message id), which moves
// the checkpoint past what other partitions hold (migrations/0023). The page holds, on
// top of its size, as many rows as the partition has recorded as settled past its
// checkpoint (published_ahead), up to a window, as the events' pages do: read again
// behind a message still waiting, those are skipped, and a page of them alone would hand
// out nothing new, run after run, while the partition's other keys waited behind it.
// Whether a message is settled (parked, or recorded; matched by place too, as an id may
// be taken again once its row is cleaned up) is asked per row, by index, only while any
// message is parked or recorded (an initplan), and not for the head's row; a settled one
// comes without its body and headers. OFFSET 0 keeps the lateral a subquery of its own:
// folded into the select list, each use of its columns was a copy of the whole check,
// planned as a hash of every parked message, built for an idle poll too.
const PAGE_SQL = `
  SELECT o.id, o.tx_id, o.message_id, o.ordering_key, o.subject,
         CASE WHEN s.parked OR s.recorded THEN NULL ELSE o.payload END AS payload,
         CASE WHEN s.parked OR s.recorded THEN NULL ELSE o.headers END AS headers, s.parked OR s.recorded AS settled, s.recorded
  FROM outbox_page_with_head($1, $2,
    (SELECT least($3::bigint + count(*), $6::bigint)::integer FROM published_ahead AS a
     WHERE a.processor = 'publisher:outbox' AND a.partition = $5::integer AND (a.tx_id, a.position) > ($1::xid8, $2::bigint)),
    $4, $5) WITH ORDINALITY AS o
  CROSS JOIN LATERAL (SELECT
    CASE WHEN o.message_id IS NOT NULL AND (SELECT EXISTS (SELECT FROM parked_messages WHERE source = 'outbox'))
      THEN EXISTS (SELECT FROM parked_messages AS p WHERE p.message_id = o.message_id AND p.source = 'outbox')
      ELSE false END AS parked,
    CASE WHEN o.message_id IS NOT NULL AND (SELECT EXISTS (SELECT FROM published_ahead WHERE processor = 'publisher:outbox'))
      THEN EXISTS (SELECT FROM published_ahead AS a
                   WHERE a.processor = 'publisher:outbox' AND a.message_id = o.message_id AND a.tx_id = o.tx_id AND a.position = o.id)
      ELSE false END AS recorded
    OFFSET 0) AS s
  ORDER BY o.ordinality`;

// Counts what a partition has past its checkpoint, up to a limit, and the age of the
// oldest, in the page's order, within a bounded walk (migrations/0034, 0036). Every committed
// message counts, also those the page still holds back behind a transaction open
// elsewhere: they are waiting as much as the rest. A message parked behind one still
// waiting is past the checkpoint too, and counted as parked; one stored from behind it
// (published_ahead, migrations/0036) is not counted.
const LAG_SQL = 'SELECT items, oldest_age_seconds, walk_ended_short, walk_age_seconds FROM outbox_backlog($1, $2, $3, $4, $5, $6)';

/**
 * The outbox (integration messages) as the publisher reads it: split by
 * ordering key, in the order rows were written, never skipping one (see
 * outbox_page_with_head). The checkpoint is a row's (tx_id, id): the page's
 * last, or after a short page the newest below the horizon. A page's settled
 * messages (parked, or stored from behind one still waiting) are looked up and
 * marked: a page read again behind a message still waiting holds them. Those
 * parked by another instance since this run began are marked too.
 */
export function outboxMessages(): FeedSource<OutboxMessage> {
  return {
    async read(db, { after, limit, partition }) {
      const params = [after.txId.toString(), after.position.toString(), limit, partition.count, partition.index, pageWindow(limit, partition.count)];
      const { rows: read } = await db.query<OutboxRow | HeadRow>(PAGE_SQL, params, { name: 'publisher_outbox_page' });
      const rows = read.filter((row): row is OutboxRow => row.message_id !== null);
      const head = read.find((row) => row.message_id === null);
      return pageOfMessages(after, limit, rows, head);
    },
    positionOf: (message) => ({ txId: message.txId, position: message.id }),
    idOf: (message) => message.messageId,
    lag: outboxLag,
  };
}

/** A page's messages, up to `limit` unsettled ones (upToUnsettled). Caught up when the page ended at the head. */
function pageOfMessages(after: Checkpoint, limit: number, rows: readonly OutboxRow[], head: HeadRow | undefined): SourcePage<OutboxMessage> {
  const { items, cut } = upToUnsettled(rows.map(outboxMessage), limit);
  const last = items[items.length - 1];
  const walkedTo = cut || !head ? undefined : { txId: BigInt(head.tx_id), position: BigInt(head.id) };
  const checkpoint = checkpointAfterPage(after, last && { txId: last.txId, position: last.id }, walkedTo);
  // A short page ends with the head's row; none at all when nothing is below the horizon.
  return { items, checkpoint, caughtUp: !cut && (head !== undefined || rows.length === 0) };
}

/** A row's message; a settled one comes without its body and headers, as no one sends it. */
function outboxMessage(row: OutboxRow): OutboxMessage {
  const place = { txId: BigInt(row.tx_id), id: BigInt(row.id), settledBefore: row.settled, recordedAhead: row.recorded };
  if (row.settled) return { messageId: row.message_id, orderingKey: row.ordering_key, subject: row.subject, payload: '', headers: {}, ...place };
  return { ...storedMessage(row), ...place };
}

interface BacklogRow {
  items: number;
  oldest_age_seconds: number;
  walk_ended_short: boolean;
  walk_age_seconds: number;
}

/** What an outbox partition has past its checkpoint and waits to be published. */
const outboxLag: FeedSource<OutboxMessage>['lag'] = async (db, { after, partition, limit }) => {
  const walkBound = Math.max(limit + 1, LAG_SCAN_BOUND);
  const params = [after.txId.toString(), after.position.toString(), limit, partition.count, partition.index, walkBound];
  const { rows } = await db.query<BacklogRow>(LAG_SQL, params, { name: 'publisher_outbox_backlog' });
  const row = rows[0];
  const items = row?.items ?? 0;
  const walkEndedShort = row?.walk_ended_short ?? false;
  // Nothing of the partition's in the walk, and more past it: its messages, if any, lie
  // further on, no older than the first it has still to walk past.
  const oldestAgeSeconds = items === 0 && walkEndedShort ? (row?.walk_age_seconds ?? 0) : (row?.oldest_age_seconds ?? 0);
  return { items: Math.min(items, limit), capped: items > limit || walkEndedShort, oldestAgeSeconds: Math.max(0, oldestAgeSeconds) };
};
