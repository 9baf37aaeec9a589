import * as z from '../schema';
import { EVENT_COLUMNS, MAX_STREAM_VERSION, toRecordedEvent, type EventTuple } from '../eventstore';
import { BrowserInputError, BrowserNotFoundError } from './browserErrors';
import type { BrowserSources } from './BrowserSources';
import { eventView, type EventView } from './eventView';
import { decodeCursor, encodeCursor, PageLimit, parseQuery } from './pageCursor';

export interface StreamSummary {
  streamId: string;
  streamType: string;
  version: number;
  lastWriteAt: string;
}

// Streams in id order without a streams table: a loose index scan over (stream_id, version),
// one index probe per stream, each stream's newest event beside it.
const STREAMS_SQL = `
  WITH RECURSIVE ids(stream_id) AS (
    (SELECT stream_id FROM events WHERE stream_id > $1 AND stream_id >= $2 ORDER BY stream_id LIMIT 1)
    UNION ALL
    SELECT (SELECT e.stream_id FROM events e WHERE e.stream_id > ids.stream_id ORDER BY e.stream_id LIMIT 1)
    FROM ids WHERE ids.stream_id IS NOT NULL AND starts_with(ids.stream_id, $2)
  )
  SELECT h.stream_id, h.stream_type, h.version, h.recorded_at
  FROM ids CROSS JOIN LATERAL (
    SELECT e.stream_id, e.stream_type, e.version, e.recorded_at FROM events e WHERE e.stream_id = ids.stream_id ORDER BY e.version DESC LIMIT 1
  ) h
  WHERE ids.stream_id IS NOT NULL AND starts_with(ids.stream_id, $2) AND ($3::text IS NULL OR h.stream_type = $3)
  LIMIT $4`;

const StreamsQuery = z.object({ type: z.optional(z.string().check(z.minLength(1))), prefix: z._default(z.string(), ''), limit: PageLimit, cursor: z.optional(z.string()) });

/** `GET /browser/api/streams?type=&prefix=`: streams in id order, with type, version and last write. */
export async function listStreams(sources: BrowserSources, query: Record<string, string | undefined>) {
  const { type, prefix, limit, cursor } = parseQuery(StreamsQuery, query);
  const after = decodeCursor(cursor, z.object({ after: z.string() }))?.after ?? '';
  const { rows } = await sources.db.query<{ stream_id: string; stream_type: string; version: number; recorded_at: Date }>(
    STREAMS_SQL,
    [after, prefix, type ?? null, limit + 1],
    { name: 'browser_streams' },
  );
  const page = rows.slice(0, limit).map((row): StreamSummary => ({ streamId: row.stream_id, streamType: row.stream_type, version: row.version, lastWriteAt: row.recorded_at.toISOString() }));
  const last = page.at(-1);
  return { streams: page, nextCursor: rows.length > limit && last ? encodeCursor({ after: last.streamId }) : null };
}

const STREAM_EVENTS_SQL = `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream_id = $1 AND e.version BETWEEN $2 AND $3 ORDER BY e.version LIMIT $4`;

const Version = z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_STREAM_VERSION));
const StreamQuery = z.object({ from: z.optional(Version), to: z.optional(Version), limit: PageLimit, cursor: z.optional(z.string()), original: z.optional(z.enum(['true', 'false'])) });

/** `GET /browser/api/streams/{streamId}?from=&to=`: a stream's events, oldest first, upcasted. */
export async function streamEvents(sources: BrowserSources, streamId: string, query: Record<string, string | undefined>) {
  const parsed = parseQuery(StreamQuery, query);
  const from = decodeCursor(parsed.cursor, z.object({ from: Version }))?.from ?? parsed.from ?? 1;
  const to = parsed.to ?? MAX_STREAM_VERSION;
  if (from > to) throw new BrowserInputError('INVALID_RANGE', `from (${String(from)}) is after to (${String(to)})`, { from, to });
  const { rows } = await sources.db.query<EventTuple>(STREAM_EVENTS_SQL, [streamId, from, to, parsed.limit + 1], { name: 'browser_stream_events', rowMode: 'array' });
  if (rows.length === 0 && !(await streamExists(sources, streamId))) throw new BrowserNotFoundError('STREAM_NOT_FOUND', `No stream ${streamId}`, { streamId });
  const events: EventView[] = rows.slice(0, parsed.limit).map((row) => eventView(toRecordedEvent(row), sources.upcaster, parsed.original === 'true'));
  const last = events.at(-1);
  return { streamId, events, nextCursor: rows.length > parsed.limit && last ? encodeCursor({ from: last.version + 1 }) : null };
}

async function streamExists(sources: BrowserSources, streamId: string): Promise<boolean> {
  const { rows } = await sources.db.query('SELECT 1 FROM events WHERE stream_id = $1 LIMIT 1', [streamId]);
  return rows.length > 0;
}

const STATE_EVENTS_SQL = `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream_id = $1 AND e.version <= $2 ORDER BY e.version`;

/** `GET /browser/api/streams/{streamId}/state?version=`: the aggregate's state as of a version, folded by its own definition. */
export async function stateAtVersion(sources: BrowserSources, streamId: string, query: Record<string, string | undefined>) {
  const parsed = parseQuery(z.object({ version: z.optional(Version) }), query);
  const { rows } = await sources.db.query<EventTuple>(STATE_EVENTS_SQL, [streamId, parsed.version ?? MAX_STREAM_VERSION], { name: 'browser_state_events', rowMode: 'array' });
  const first = rows[0];
  if (!first) throw new BrowserNotFoundError('STREAM_NOT_FOUND', `No stream ${streamId}`, { streamId });
  const head = await streamHead(sources, streamId);
  if (parsed.version !== undefined && parsed.version > head) throw new BrowserInputError('INVALID_VERSION', `The stream is at version ${String(head)}`, { version: parsed.version, streamVersion: head });
  const streamType = first[3];
  const aggregate = sources.aggregates.find((candidate) => candidate.streamType === streamType);
  if (!aggregate) throw new BrowserNotFoundError('NO_AGGREGATE', `No aggregate of the service folds ${streamType} streams`, { streamType });
  const events = rows.map((row) => sources.upcaster.upcast(toRecordedEvent(row)));
  return { streamId, streamType, version: events.length, streamVersion: head, state: aggregate.apply(aggregate.initialState(), events) };
}

async function streamHead(sources: BrowserSources, streamId: string): Promise<number> {
  const { rows } = await sources.db.query<{ version: number }>('SELECT max(version)::int AS version FROM events WHERE stream_id = $1', [streamId]);
  return rows[0]?.version ?? 0;
}
