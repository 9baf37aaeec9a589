import { exactTimestampText, type Queryable } from '../db';
import { isUuid, UuidText } from '../ids/uuidText';
import { storableText } from '../text';
import * as z from '../schema';

/** Which publisher processor a parked message came from: a stored event, or an integration message of the outbox. */
export type ParkedSource = 'events' | 'outbox';

export interface ParkedMessage {
  messageId: string;
  source: ParkedSource;
  orderingKey: string;
  subject: string;
  /** Why NATS refused it, the last time. */
  error: string;
  /** How many times it was refused for good (a requeue that failed again adds one). */
  refusals: number;
  parkedAt: Date;
  /** Set when a person put it back in line: the next publisher run sends it. */
  requeuedAt: Date | null;
}

interface ParkedRow {
  message_id: string;
  source: ParkedSource;
  ordering_key: string;
  subject: string;
  error: string;
  refusals: number;
  parked_at: Date;
  requeued_at: Date | null;
}

const toParked = (row: ParkedRow): ParkedMessage => ({
  messageId: row.message_id,
  source: row.source,
  orderingKey: row.ordering_key,
  subject: row.subject,
  error: row.error,
  refusals: row.refusals,
  parkedAt: row.parked_at,
  requeuedAt: row.requeued_at,
});

// A message parked already is parked again only when it was requeued: the first
// refusal after a requeue counts, and one sent again by a run that overlapped it
// (another instance's, a turn that outlived its lease) finds it parked and changes nothing.
// A requeue the sender did not see when it read the message ($6, the snapshot it read
// in: a person requeued it again, after a fix, while the refusal of the earlier try was
// on its way) stays requeued. The conflict's update waits for such a requeue to commit
// and sees its row, so one committed after the read, whenever it began, is kept.
const PARK_SQL = `
  INSERT INTO parked_messages (message_id, source, ordering_key, subject, error)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
  ON CONFLICT (message_id, source) DO UPDATE
    SET error = EXCLUDED.error, subject = EXCLUDED.subject, refusals = parked_messages.refusals + 1,
        parked_at = now(),
        requeued_at = CASE WHEN NOT pg_visible_in_snapshot(parked_messages.requeued_by, $6::pg_snapshot) THEN parked_messages.requeued_at END
    WHERE parked_messages.requeued_at IS NOT NULL
  RETURNING message_id`;

export interface Parking {
  messageId: string;
  orderingKey: string;
  subject: string;
  error: string;
}

/**
 * Parks messages NATS refused for good, and returns those it parked now.
 * Parking one again after a requeue counts another refusal; one parked and not
 * requeued stays as it is. Given the snapshot the sender read the requeued
 * messages in (`RequeuedMessages.seenIn`), a requeue it did not see is kept.
 */
export async function parkMessages(db: Queryable, source: ParkedSource, parkings: readonly Parking[], requeuesSeenIn: string | null = null): Promise<ReadonlySet<string>> {
  if (parkings.length === 0) return new Set();
  const { rows } = await db.query<{ message_id: string }>(PARK_SQL, [
    parkings.map((parking) => parking.messageId),
    parkings.map(() => source),
    parkings.map((parking) => parking.orderingKey),
    // A subject from routing code, or a reason quoting a stored name, may hold a NUL, which text
    // refuses: refused, the message would never be parked.
    parkings.map((parking) => storableText(parking.subject)),
    parkings.map((parking) => storableText(parking.error)),
    requeuesSeenIn,
  ]);
  return new Set(rows.map((row) => row.message_id));
}

/**
 * Where a listed message stands in the list, for the next page to start after.
 * `parkedAt` is ISO 8601 to the microsecond, as PostgreSQL stores it: a Date
 * holds milliseconds only, and a page ending at a message parked within the
 * same millisecond as others would start again before it.
 */
export interface ParkedPosition {
  parkedAt: string;
  messageId: string;
  source: ParkedSource;
}

export interface ListedParkedMessage extends ParkedMessage {
  position: ParkedPosition;
  /**
   * Requeued and on its way: its event or outbox row there to send. A requeued
   * one whose row is gone can never go out: it needs a person, as a parked one
   * does (the status counts it parked; discard it).
   */
  onItsWay: boolean;
}

/** A parked row `p` joined to what it would send (`e`, `o`): the status and the list count and show it alike. */
export const PARKED_WITH_SOURCE_ROWS = `
  parked_messages p
  LEFT JOIN events e ON p.source = 'events' AND e.event_id = p.message_id
  LEFT JOIN outbox o ON p.source = 'outbox' AND o.message_id = p.message_id`;

/** Of a parked row joined as above: requeued, and its event or outbox row there to send. */
export const ON_ITS_WAY_SQL = 'p.requeued_at IS NOT NULL AND (e.event_id IS NOT NULL OR o.message_id IS NOT NULL)';

const LIST_PARKED_SQL = `
  SELECT p.message_id, p.source, p.ordering_key, p.subject, p.error, p.refusals, p.parked_at, p.requeued_at,
    ${exactTimestampText('p.parked_at')} AS parked_at_exact, ${ON_ITS_WAY_SQL} AS on_its_way
  FROM ${PARKED_WITH_SOURCE_ROWS}
  WHERE $2::timestamptz IS NULL OR (p.parked_at, p.message_id, p.source) > ($2, $3::uuid, $4::text)
  ORDER BY p.parked_at, p.message_id, p.source LIMIT $1`;

/** The most parked messages one page lists. */
export const MAX_PARKED_PAGE = 10_000;

const MAX_UTC_OFFSET_HOURS = 15;

const ListParkedOptions = z.object({
  limit: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_PARKED_PAGE))),
  after: z.optional(
    z.object({
      // PostgreSQL has no year 0 (1 BC comes before 1 AD), and refuses a time in it, or an offset from UTC past 15:59.
      parkedAt: z.iso.datetime({ offset: true }).check(
        z.refine((text) => !text.startsWith('0000'), 'must not be in the year 0'),
        z.refine((text) => Number(/[+-](\d\d):\d\d$/u.exec(text)?.[1] ?? 0) <= MAX_UTC_OFFSET_HOURS, 'must be within 15:59 of UTC'),
      ),
      messageId: UuidText,
      source: z.enum(['events', 'outbox']),
    }),
  ),
});

/** A page of the parked list asked for with a limit or a position it cannot have: nothing is read. */
export class ParkedListRequestError extends Error {
  readonly code = 'INVALID_PARKED_LIST_REQUEST';
  constructor(readonly reason: string) {
    super(`The parked list cannot be read so: ${reason}`);
    this.name = 'ParkedListRequestError';
  }
}

const PARKED_SOURCES: ReadonlySet<unknown> = new Set<ParkedSource>(['events', 'outbox']);

/** A requeue or discard asked for a source that is neither `events` nor `outbox`: nothing is done. */
export class ParkedSourceError extends Error {
  readonly code = 'INVALID_PARKED_SOURCE';
  constructor(readonly source: unknown) {
    super(`A parked message's source is events or outbox, not ${typeof source === 'string' ? JSON.stringify(source) : String(source)}`);
    this.name = 'ParkedSourceError';
  }
}

/** Refuses a source that is neither: the caller's mistake, not a message that is not parked. */
export function checkParkedSource(source: ParkedSource | undefined): void {
  if (source !== undefined && !PARKED_SOURCES.has(source)) throw new ParkedSourceError(source);
}

/** Parked messages, oldest first, `limit` of them (100 unless given) after `after` (the position of the previous page's last). */
export async function listParkedMessages(db: Queryable, options: { limit?: number; after?: ParkedPosition } = {}): Promise<ListedParkedMessage[]> {
  const parsed = ListParkedOptions.safeParse(options);
  if (!parsed.success) throw new ParkedListRequestError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  const { after } = options;
  const { rows } = await db.query<ParkedRow & { parked_at_exact: string; on_its_way: boolean }>(LIST_PARKED_SQL, [
    options.limit ?? 100,
    after?.parkedAt ?? null,
    after?.messageId ?? null,
    after?.source ?? null,
  ]);
  return rows.map((row) => ({ ...toParked(row), position: { parkedAt: row.parked_at_exact, messageId: row.message_id, source: row.source }, onItsWay: row.on_its_way }));
}

/**
 * Puts a parked message back in line (after fixing what NATS refused): the
 * next publisher run sends it again. Its ordering key's later messages went
 * out meanwhile, so it arrives after them. An event and an integration message
 * parked under the same id are both requeued, unless `source` names one. False
 * when no such message is parked.
 */
export async function requeueParkedMessage(db: Queryable, messageId: string, source?: ParkedSource): Promise<boolean> {
  checkParkedSource(source);
  // Every parked message has a UUID: anything else is not one of them.
  if (!isUuid(messageId)) return false;
  // Set here, not only by the table's trigger (migration 0031, for requeues made otherwise): the
  // trigger sees a requeue by its new time, and PGlite's clock, in milliseconds, gives a second
  // requeue in the same millisecond the time the first had.
  const { rowCount } = await db.query(
    'UPDATE parked_messages SET requeued_at = now(), requeued_by = pg_current_xact_id() WHERE message_id = $1 AND ($2::text IS NULL OR source = $2)',
    [messageId, source ?? null],
  );
  return rowCount > 0;
}

// Whole keys, the key requeued first first (or read by a page and left waiting: it goes
// behind the keys requeued since, see moveKeysBehind), and a key's messages in the order
// they were first sent (feed or outbox order): a limit that cuts a key leaves its later
// messages, never an earlier one, for the next run. Only those behind their partition's checkpoint
// in their own publisher ($2 for events, $3 for the outbox): one still ahead of it (an
// event the old outbox had parked, moved over by migration 0014; one whose batch has not
// stored its checkpoint yet) would be sent again by that publisher once unparked, outside
// any duplicate window. It waits for the checkpoint to pass it, which never goes back.
const REQUEUED_SQL = `
  SELECT p.message_id, p.source, p.ordering_key, p.subject, p.error, p.refusals, p.parked_at, p.requeued_at,
    pg_current_snapshot()::text AS seen_in
  FROM parked_messages p
  LEFT JOIN events e ON p.source = 'events' AND e.event_id = p.message_id
  LEFT JOIN outbox o ON p.source = 'outbox' AND o.message_id = p.message_id
  JOIN feed_processors f ON f.name = CASE p.source WHEN 'events' THEN $2 ELSE $3 END
  JOIN processor_partitions c ON c.processor = f.name AND c.partition = stream_partition(p.ordering_key, f.partitions)
  WHERE p.requeued_at IS NOT NULL
    AND (coalesce(e.tx_id, o.tx_id), coalesce(e.global_position, o.id)) <= (c.checkpoint_tx, c.checkpoint_position)
  ORDER BY min(greatest(p.requeued_at, p.requeue_turn_at)) OVER (PARTITION BY p.source, p.ordering_key), p.source, p.ordering_key,
    coalesce(e.tx_id, o.tx_id), coalesce(e.global_position, o.id)
  LIMIT $1`;

/** Requeued messages as read, and the snapshot they were read in (`pg_snapshot` text): a requeue it does not show is not one of these. */
export interface RequeuedMessages {
  messages: ParkedMessage[];
  seenIn: string | null;
}

/** The requeued messages ready to be sent again (their publisher has passed them), by key, the key requeued first first. */
export async function requeuedMessages(db: Queryable, limit: number, publishers: { events: string; outbox: string }): Promise<RequeuedMessages> {
  const { rows } = await db.query<ParkedRow & { seen_in: string }>(REQUEUED_SQL, [limit, publishers.events, publishers.outbox]);
  return { messages: rows.map(toParked), seenIn: rows[0]?.seen_in ?? null };
}

/**
 * The keys a page of requeued messages held go behind every key requeued
 * since: what a passing refusal keeps waiting must not come first in every
 * page, and hold back the messages requeued after it for as long as the
 * refusal lasts.
 */
export async function moveKeysBehind(db: Queryable, read: readonly ParkedMessage[]): Promise<void> {
  if (read.length === 0) return;
  await db.query(
    `UPDATE parked_messages p SET requeue_turn_at = statement_timestamp()
     FROM unnest($1::text[], $2::text[]) AS k(source, ordering_key)
     WHERE p.source = k.source AND p.ordering_key = k.ordering_key AND p.requeued_at IS NOT NULL`,
    [read.map((message) => message.source), read.map((message) => message.orderingKey)],
  );
}

/** Requeued messages of one source JetStream has now stored: they are no longer parked. */
export async function unparkMessages(db: Queryable, source: ParkedSource, messageIds: readonly string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await db.query('DELETE FROM parked_messages WHERE message_id = ANY ($1::uuid[]) AND source = $2 AND requeued_at IS NOT NULL', [messageIds, source]);
}
