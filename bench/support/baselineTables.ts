import type pg from 'pg';

/**
 * The hand-written equivalent of what the event store writes: an events table
 * whose only keys are a primary key and a unique (stream_id, version), and an
 * idempotency table keyed by command id. No feed index, no checks, no lock.
 *
 * Both start with a copy of the rows already stored, so both sides insert into
 * indexes of the same size, and both sides are ANALYZEd before anything is timed.
 */
export async function createBaselineTables(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE baseline_events (
      global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      stream_id       text NOT NULL,
      stream_type     text NOT NULL,
      version         integer NOT NULL,
      event_id        uuid NOT NULL,
      type            text NOT NULL,
      schema_version  integer NOT NULL DEFAULT 1,
      data            jsonb NOT NULL,
      metadata        jsonb NOT NULL DEFAULT '{}',
      recorded_at     timestamptz NOT NULL DEFAULT now(),
      UNIQUE (stream_id, version))`);
  await pool.query(`
    INSERT INTO baseline_events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata, recorded_at)
    SELECT stream_id, stream_type, version, event_id, type, schema_version, data, metadata, recorded_at FROM events
    ORDER BY tx_id, global_position`);
  await pool.query(`
    CREATE TABLE baseline_commands (
      command_id   text PRIMARY KEY,
      command_type text NOT NULL,
      payload_hash text NOT NULL,
      correlation_id text,
      status       text NOT NULL,
      outcome      jsonb NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`
    INSERT INTO baseline_commands (command_id, command_type, payload_hash, correlation_id, status, outcome)
    SELECT command_id, command_type, payload_hash, correlation_id, status, coalesce(outcome, '{}') FROM commands`);
  await analyzeBothSides(pool);
}

/** Fresh statistics for the store's tables and the baseline's, so neither side runs on a stale plan. */
export async function analyzeBothSides(pool: pg.Pool): Promise<void> {
  await pool.query('VACUUM ANALYZE events, commands, baseline_events, baseline_commands');
}

const INSERT_EVENT_SQL = `
  INSERT INTO baseline_events (stream_id, stream_type, version, event_id, type, data, metadata)
  VALUES ($1, $2, $3, $4, $5, $6, $7)`;

/** One event as a single-row INSERT, the statement prepared once per connection. */
export async function insertBaselineEvent(
  pool: pg.Pool,
  row: { streamId: string; streamType: string; version: number; eventId: string; type: string; data: string; metadata: string },
): Promise<void> {
  await pool.query({
    name: 'baseline_insert_event',
    text: INSERT_EVENT_SQL,
    values: [row.streamId, row.streamType, row.version, row.eventId, row.type, row.data, row.metadata],
  });
}

// The event and its idempotency row in one statement: one round trip, one
// transaction. The row holds what the store's does: the correlation id, and an
// outcome that lists the event, so that a replay can answer with it.
const INSERT_COMMAND_SQL = `
  WITH event AS (
    INSERT INTO baseline_events (stream_id, stream_type, version, event_id, type, data, metadata)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING global_position)
  INSERT INTO baseline_commands (command_id, command_type, payload_hash, correlation_id, status, outcome)
  SELECT $8, $9, $10, $11, 'succeeded', jsonb_build_object('streamId', $1::text, 'version', $3::integer, 'events', jsonb_build_array(
    jsonb_build_object('eventId', $4::uuid, 'type', $5::text, 'version', $3::integer, 'globalPosition', global_position::text)))
  FROM event`;

/** A command's event and its idempotency record, written together as hand-written code would. */
export async function insertBaselineCommand(
  pool: pg.Pool,
  row: { streamId: string; streamType: string; version: number; eventId: string; type: string; data: string; metadata: string },
  command: { commandId: string; commandType: string; payloadHash: string; correlationId: string },
): Promise<void> {
  await pool.query({
    name: 'baseline_insert_command',
    text: INSERT_COMMAND_SQL,
    values: [row.streamId, row.streamType, row.version, row.eventId, row.type, row.data, row.metadata, command.commandId, command.commandType, command.payloadHash, command.correlationId],
  });
}

const PARAMS_PER_ROW = 7;

// The text of an N-row INSERT is built once per N, as hand-written code would hold it in a constant.
const batchSql = new Map<number, string>();

function batchInsertSql(rowCount: number): string {
  let sql = batchSql.get(rowCount);
  if (sql === undefined) {
    const rows = Array.from({ length: rowCount }, (_, row) => `(${Array.from({ length: PARAMS_PER_ROW }, (_, column) => `$${row * PARAMS_PER_ROW + column + 1}`).join(', ')})`);
    sql = `INSERT INTO baseline_events (stream_id, stream_type, version, event_id, type, data, metadata) VALUES ${rows.join(', ')}`;
    batchSql.set(rowCount, sql);
  }
  return sql;
}

/** Several events of one stream as one multi-row INSERT, prepared once per connection and size. */
export async function insertBaselineEvents(
  pool: pg.Pool,
  stream: { streamId: string; streamType: string; afterVersion: number },
  events: readonly { type: string; data: string; metadata: string; eventId: string }[],
): Promise<void> {
  const values = events.flatMap((event, offset) => [stream.streamId, stream.streamType, stream.afterVersion + offset + 1, event.eventId, event.type, event.data, event.metadata]);
  await pool.query({ name: `baseline_insert_${events.length}_events`, text: batchInsertSql(events.length), values });
}
