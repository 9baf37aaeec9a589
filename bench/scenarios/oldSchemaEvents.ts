import type { Queryable } from '../../core/db';

/** An event as an older version of the account code stored it. */
interface OldEvent {
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  data: object;
  metadata: { correlationId: string; causationId: string };
}

export const EVENTS_PER_OLD_STREAM = 100;
// Ten streams per statement: 1,000 rows, one transaction each, as a busy past would have written them.
const STREAMS_PER_INSERT = 10;

const uuidFrom = (kind: number, seed: number): string =>
  `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${seed.toString(16).padStart(12, '0')}`;

/**
 * Per stream: the opening, a withdrawal every ten events (both already at
 * their current version, 1), a FundsAdded every ten (rename plus three
 * payload steps) and MoneyDeposited v1 `{ sum }` everywhere else (three
 * steps). So 89 % of the events run the whole chain to MoneyDeposited v4.
 */
function oldEvent(streamId: string, version: number, seed: number): OldEvent {
  const metadata = { correlationId: uuidFrom(1, seed), causationId: uuidFrom(2, seed) };
  const at = (type: string, data: object) => ({ streamId, version, type, schemaVersion: 1, data, metadata });
  if (version === 1) return at('AccountOpened', { owner: 'ada', currency: 'EUR' });
  if (version % 10 === 5) return at('MoneyWithdrawn', { amount: 100 });
  if (version % 10 === 0) return at('FundsAdded', { sum: '12.50' });
  return at('MoneyDeposited', { sum: '12.50' });
}

const streamIdOf = (stream: number) => `old-account-${String(stream).padStart(6, '0')}`;

// The events table rejects UPDATE and DELETE, not INSERT: old rows are written
// as last year's code wrote them, bypassing the store's current-version rule.
const INSERT_EVENTS_SQL = `
  INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata)
  SELECT e.stream_id, 'account', e.version, gen_random_uuid(), e.type, e.schema_version, e.data, e.metadata
  FROM jsonb_to_recordset($1::jsonb)
    AS e(stream_id text, version integer, type text, schema_version integer, data jsonb, metadata jsonb)
  ORDER BY e.stream_id, e.version`;

async function insertStreams(db: Queryable, firstStream: number, streamCount: number): Promise<void> {
  const streamIds = Array.from({ length: streamCount }, (_, offset) => streamIdOf(firstStream + offset));
  const events = streamIds.flatMap((streamId, offset) =>
    Array.from({ length: EVENTS_PER_OLD_STREAM }, (_, index) =>
      oldEvent(streamId, index + 1, (firstStream + offset) * EVENTS_PER_OLD_STREAM + index),
    ),
  );
  const rows = events.map((event) => ({
    stream_id: event.streamId,
    version: event.version,
    type: event.type,
    schema_version: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
  }));
  await db.query(INSERT_EVENTS_SQL, [JSON.stringify(rows)]);
}

/** Stores `eventCount` (rounded up to whole streams) old-schema account events; returns how many. */
export async function storeOldSchemaEvents(db: Queryable, eventCount: number): Promise<number> {
  const streamCount = Math.ceil(eventCount / EVENTS_PER_OLD_STREAM);
  for (let first = 0; first < streamCount; first += STREAMS_PER_INSERT) {
    await insertStreams(db, first, Math.min(STREAMS_PER_INSERT, streamCount - first));
  }
  // Otherwise the first scans set hint bits and autovacuum wakes up mid-measurement, on whichever side runs first.
  await db.query('VACUUM ANALYZE events');
  return streamCount * EVENTS_PER_OLD_STREAM;
}
