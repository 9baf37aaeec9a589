/**
 * The SQL of an append: one statement, whatever the request holds. It inserts
 * the events at the versions the expectation implies, writing nothing when the
 * stream does not meet it, and in the same statement the command's outcome and
 * the integration messages, after the events. See migrations/0012 for why the
 * version check needs no streams row.
 *
 * The variants differ in small parts, so the text is put together from the
 * fragments below, once per variant, and prepared under the variant's name.
 */

export interface AppendShape {
  /** `exact` covers a number and `no_stream` (version 0); `head` covers `stream_exists` and `any`. */
  check: 'exact' | 'head';
  /** One event goes as scalar parameters, a batch as one JSON array. */
  batch: boolean;
  /** Inside a caller's transaction the append must be its first write; on its own it always is. */
  guardFirstWrite: boolean;
  recordCommand: boolean;
  messages: boolean;
}

// $1 stream id, $2 stream type, $3 expected version (exact) or mode (head), $4.. events, then command, then messages.
const SINGLE_EVENT = `SELECT $4::uuid AS event_id, $5::text AS type, $6::integer AS schema_version,
    $7::jsonb AS data, $8::jsonb AS metadata, 1 AS n`;
const EVENT_BATCH = `SELECT (x.value ->> 'eventId')::uuid AS event_id, x.value ->> 'type' AS type,
    (x.value ->> 'schemaVersion')::integer AS schema_version, x.value -> 'data' AS data, x.value -> 'metadata' AS metadata, x.n
    FROM jsonb_array_elements($4::jsonb) WITH ORDINALITY AS x(value, n)`;

// The stream's newest event, read in the statement's snapshot: version N+1 is only
// written once version N is committed and visible here.
const HEAD = `head AS MATERIALIZED (
    SELECT e.version, e.stream_type FROM events e WHERE e.stream_id = $1::text ORDER BY e.version DESC LIMIT 1)`;
// Evaluated once, before the insert's first row gives the transaction its id.
const FIRST_WRITE = 'first_write AS MATERIALIZED (SELECT pg_current_xact_id_if_assigned() IS NULL AS ok)';

// The stream's lock, taken before the insert's first row (which gives the transaction its
// id) and held to the end: appends that read the stream's head (stream_exists, any) wait
// for it and then, in a fresh snapshot, see this append; they never conflict with it.
const EXACT_INSERT = `SELECT $1::text, $2::text, $3::integer + x.n, x.event_id, x.type, x.schema_version, x.data, x.metadata
    FROM new_events x
    WHERE pg_advisory_xact_lock(1163067393, hashtext($1::text)) IS NOT NULL
      AND ($3::integer = 0 OR EXISTS (
      SELECT FROM events e WHERE e.stream_id = $1::text AND e.version = $3::integer AND e.stream_type = $2::text))`;
const HEAD_INSERT = `SELECT $1::text, $2::text, coalesce(h.version, 0) + x.n, x.event_id, x.type, x.schema_version, x.data, x.metadata
    FROM new_events x LEFT JOIN head h ON true
    WHERE (h.version IS NOT NULL OR $3::text = 'any') AND (h.stream_type IS NULL OR h.stream_type = $2::text)`;

// Only once events were written; an outcome already there (or another payload's) makes
// the statement fail, so that the events are not stored twice for one command.
const recordCommand = (first: number) => `recorded AS (
    INSERT INTO commands AS c (command_id, command_type, payload_hash, correlation_id, status, outcome)
    SELECT $${first}::text, $${first + 1}::text, $${first + 2}::text, $${first + 3}::text, 'succeeded',
      jsonb_build_object('streamId', $1::text, 'version', max(a.version), 'events', jsonb_agg(jsonb_build_object(
        'eventId', a.event_id, 'type', a.type, 'version', a.version, 'globalPosition', a.global_position::text) ORDER BY a.version))
    FROM appended a HAVING count(*) > 0
    ON CONFLICT (command_id) DO UPDATE SET status = 'succeeded', outcome = EXCLUDED.outcome, error = NULL, updated_at = now()
      WHERE c.status = 'pending' AND c.payload_hash = EXCLUDED.payload_hash
    RETURNING 1)`;

const insertMessages = (parameter: number) => `sent AS (
    INSERT INTO outbox (message_id, ordering_key, subject, payload, headers)
    SELECT (m ->> 'messageId')::uuid, m ->> 'orderingKey', m ->> 'subject', (m -> 'body')::json, (m -> 'headers')::json
    FROM jsonb_array_elements($${parameter}::jsonb) AS m
    WHERE EXISTS (SELECT FROM appended))`;

/** How many parameters the events take: five scalars for one event, or one JSON array. */
const eventParameters = (shape: AppendShape) => (shape.batch ? 1 : 5);

export function appendStatementName(shape: AppendShape): string {
  const flags = [shape.check, shape.batch ? 'batch' : 'one', shape.guardFirstWrite ? 'guarded' : '', shape.recordCommand ? 'command' : '', shape.messages ? 'messages' : ''];
  return `append_${flags.filter(Boolean).join('_')}`;
}

export function appendStatement(shape: AppendShape): string {
  const commandAt = 4 + eventParameters(shape);
  const messagesAt = commandAt + (shape.recordCommand ? 4 : 0);
  const guard = shape.guardFirstWrite ? ' AND (SELECT ok FROM first_write)' : '';
  const ctes = [
    `new_events AS (${shape.batch ? EVENT_BATCH : SINGLE_EVENT})`,
    ...(shape.check === 'head' ? [HEAD] : []),
    ...(shape.guardFirstWrite ? [FIRST_WRITE] : []),
    `appended AS (
    INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata)
    ${shape.check === 'exact' ? EXACT_INSERT : HEAD_INSERT}${guard}
    RETURNING event_id, type, version, global_position, tx_id)`,
    ...(shape.recordCommand ? [recordCommand(commandAt)] : []),
    ...(shape.messages ? [insertMessages(messagesAt)] : []),
  ];
  const refused = shape.recordCommand
    ? `, CASE WHEN NOT EXISTS (SELECT FROM recorded) THEN raise_command_already_recorded($${commandAt}::text) END AS refused`
    : '';
  return `WITH ${ctes.join(',\n  ')}
  SELECT a.event_id, a.version, a.global_position, a.tx_id${refused} FROM appended a`;
}
