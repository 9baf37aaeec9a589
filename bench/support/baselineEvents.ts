import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { STREAM_TYPE, type SampleEvent } from './sampleEvents';

/**
 * The events table's shape, indexes and defaults (tx_id, recorded_at, identity),
 * without the append-only triggers and without the streams table: the cost of
 * storing the same rows with no event-store guarantees.
 *
 * It starts with a copy of the events already stored, so both sides insert into
 * indexes of the same size: an empty table's few index pages cost less (fewer
 * pages to find, fewer full-page images in the WAL after a checkpoint) than a
 * filled one's, which would flatter the baseline.
 */
export async function createBaselineTable(pool: pg.Pool): Promise<void> {
  await pool.query(
    'CREATE TABLE baseline_events (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING IDENTITY)',
  );
  await pool.query('INSERT INTO baseline_events OVERRIDING SYSTEM VALUE SELECT * FROM events');
  await pool.query(
    "SELECT setval(pg_get_serial_sequence('baseline_events', 'global_position'), (SELECT max(global_position) FROM events))",
  );
}

const COLUMNS = 'stream_id, stream_type, version, event_id, type, schema_version, data, metadata';
const PARAMS_PER_ROW = 8;

function insertSql(rowCount: number): string {
  const rows = Array.from({ length: rowCount }, (_, row) => {
    const params = Array.from({ length: PARAMS_PER_ROW }, (_, column) => `$${row * PARAMS_PER_ROW + column + 1}`);
    return `(${params.join(', ')})`;
  });
  return `INSERT INTO baseline_events (${COLUMNS}) VALUES ${rows.join(', ')}`;
}

// The text of an N-row INSERT is built once per N, as hand-written code would hold it in a constant.
const sqlByRowCount = new Map<number, string>();

function cachedInsertSql(rowCount: number): string {
  let sql = sqlByRowCount.get(rowCount);
  if (sql === undefined) {
    sql = insertSql(rowCount);
    sqlByRowCount.set(rowCount, sql);
  }
  return sql;
}

/** Inserts events as versions `afterVersion + 1 ...` of a stream in one parameterised statement. */
export async function insertBaselineEvents(
  pool: pg.Pool,
  streamId: string,
  afterVersion: number,
  events: readonly SampleEvent[],
): Promise<void> {
  const params = events.flatMap((event, offset) => [
    streamId,
    STREAM_TYPE,
    afterVersion + offset + 1,
    randomUUID(),
    event.type,
    1,
    JSON.stringify(event.data),
    JSON.stringify(event.metadata),
  ]);
  await pool.query(cachedInsertSql(events.length), params);
}
