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
  /** Whether the append records its command: a new record, or a sent command's pending one. */
  recordCommand: 'no' | 'new' | 'pending';
  messages: boolean;
  /** Whether the caller chose event ids: each is then checked against the outbox's message ids. */
  givenEventIds: boolean;
}

// $1 stream id, $2 stream type, $3 expected version (exact) or mode (head), $4.. events, then command, then messages.
// `chosen`: the caller chose the event's id (a single event's, when any id is chosen).
const SINGLE_EVENT = `SELECT $4::uuid AS event_id, $5::text AS type, $6::integer AS schema_version,
    $7::jsonb AS data, $8::jsonb AS metadata, 1 AS n, true AS chosen`;
const EVENT_BATCH = `SELECT (x.value ->> 'eventId')::uuid AS event_id, x.value ->> 'type' AS type,
    (x.value ->> 'schemaVersion')::integer AS schema_version, x.value -> 'data' AS data, x.value -> 'metadata' AS metadata, x.n,
    x.value ? 'chosen' AS chosen
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

// The command's outcome, from the appended rows: one event without an aggregate.
const outcomeOf = (batch: boolean) =>
  batch
    ? `jsonb_build_object('streamId', $1::text, 'version', max(a.version), 'events', jsonb_agg(jsonb_build_object(
        'eventId', a.event_id, 'type', a.type, 'version', a.version, 'globalPosition', a.global_position::text) ORDER BY a.version))
      FROM appended a HAVING count(*) > 0`
    : `jsonb_build_object('streamId', $1::text, 'version', a.version, 'events', jsonb_build_array(jsonb_build_object(
        'eventId', a.event_id, 'type', a.type, 'version', a.version, 'globalPosition', a.global_position::text)))
      FROM appended a`;

// A new record: an id already taken fails the statement on the primary key, so the
// events are not stored twice for one command.
const recordNewCommand = (first: number, batch: boolean) => `recorded AS (
    INSERT INTO commands (command_id, command_type, payload_hash, correlation_id, status, outcome)
    SELECT $${first}::text, $${first + 1}::text, $${first + 2}::text, $${first + 3}::text, 'succeeded', ${outcomeOf(batch)}
    RETURNING 1)`;

// A sent command's pending record, completed; anything else there (an outcome, another
// payload) leaves it alone, and the statement then fails (see REFUSED).
const completePendingCommand = (first: number, batch: boolean) => `outcome AS (SELECT ${outcomeOf(batch)}),
  recorded AS (
    UPDATE commands AS c SET status = 'succeeded', outcome = (SELECT * FROM outcome), error = NULL, updated_at = now(),
      correlation_id = coalesce(c.correlation_id, $${first + 3}::text)
    WHERE c.command_id = $${first}::text AND c.status = 'pending' AND c.command_type = $${first + 1}::text
      AND c.payload_hash = $${first + 2}::text AND EXISTS (SELECT FROM appended)
    RETURNING 1)`;

// json, not jsonb: a body is stored and sent as the very text its size was checked on
// (jsonb would reorder its keys, add spaces, and write numbers out in full). Rows are
// inserted in the append's order, which is their key's order. With a command, they
// wait for its record: PostgreSQL runs the CTEs the final SELECT does not read in an
// order of its own, and a resent command whose message ids come from its command id
// must be refused by the record's key (a replay), not by a message id. Events and
// messages share JetStream's message ids, so a message may not take a stored event's
// id: the CASE claims each id the caller chose (migration 0033) only once the events and
// the record are in. A claim locks its id to the transaction's end, in the lock table every
// session shares: the store's own ids, which are new, take none.
const insertMessages = (parameter: number, after: 'appended' | 'recorded') => `sent AS (
    INSERT INTO outbox (message_id, ordering_key, subject, payload, headers)
    SELECT (x.m ->> 'messageId')::uuid, x.m ->> 'orderingKey', x.m ->> 'subject', x.m -> 'body', x.m -> 'headers'
    FROM json_array_elements($${parameter}::json) WITH ORDINALITY AS x(m, n)
    WHERE CASE WHEN NOT EXISTS (SELECT FROM ${after}) THEN false WHEN x.m ->> 'chosen' IS NULL THEN true
      ELSE claim_message_id((x.m ->> 'messageId')::uuid) END
    ORDER BY x.n)`;

// An event id the caller chose may not be a stored message's: claimed as a message id is
// (migration 0033). Ids the store makes are new, and take no lock.
const EVENT_ID_NOT_A_MESSAGE_ID = `
      AND CASE WHEN x.chosen THEN claim_event_id(x.event_id) ELSE true END`;

// A batch's global positions are given in the order its rows reach the insert: in version
// order only by the plan's grace without this, and the feed reads a stream in position order.
const BATCH_ORDER = `
    ORDER BY x.n`;

/**
 * What an append returns per event: its place in the feed, and its version where only the
 * statement knows it (after the stream's head). The caller knows the ids, and the versions
 * of an exact append; each column more cost the driver a share of a batch's rate.
 */
const returnedColumns = (shape: AppendShape, row: string) =>
  `${row}global_position, ${row}tx_id${shape.check === 'head' ? `, ${row}version` : ''}`;

/** How many parameters the events take: five scalars for one event, or one JSON array. */
const eventParameters = (shape: AppendShape) => (shape.batch ? 1 : 5);

export function appendStatementName(shape: AppendShape): string {
  const command = shape.recordCommand === 'no' ? '' : `${shape.recordCommand}_command`;
  const flags = [shape.check, shape.batch ? 'batch' : 'one', shape.guardFirstWrite ? 'guarded' : '', command, shape.messages ? 'messages' : '', shape.givenEventIds ? 'given_ids' : ''];
  return `append_${flags.filter(Boolean).join('_')}`;
}

export function appendStatement(shape: AppendShape): string {
  const commandAt = 4 + eventParameters(shape);
  const messagesAt = commandAt + (shape.recordCommand === 'no' ? 0 : 4);
  const guard = (shape.guardFirstWrite ? ' AND (SELECT ok FROM first_write)' : '') + (shape.givenEventIds ? EVENT_ID_NOT_A_MESSAGE_ID : '');
  const inputs = [
    `new_events AS (${shape.batch ? EVENT_BATCH : SINGLE_EVENT})`,
    ...(shape.check === 'head' ? [HEAD] : []),
    ...(shape.guardFirstWrite ? [FIRST_WRITE] : []),
  ];
  const insert = (returning: string) => `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata)
    ${shape.check === 'exact' ? EXACT_INSERT : HEAD_INSERT}${guard}${shape.batch ? BATCH_ORDER : ''}
    RETURNING ${returning}`;
  // With nothing to write after the events, the insert is the statement: as a CTE, its rows
  // would be kept in a store of their own for the final SELECT to read again.
  if (shape.recordCommand === 'no' && !shape.messages) {
    return `WITH ${inputs.join(',\n  ')}
  ${insert(returnedColumns(shape, ''))}`;
  }
  const ctes = [
    ...inputs,
    `appended AS (
    ${insert('event_id, type, version, global_position, tx_id')})`,
    ...(shape.recordCommand === 'new' ? [recordNewCommand(commandAt, shape.batch)] : []),
    ...(shape.recordCommand === 'pending' ? [completePendingCommand(commandAt, shape.batch)] : []),
    ...(shape.messages ? [insertMessages(messagesAt, shape.recordCommand === 'no' ? 'appended' : 'recorded')] : []),
  ];
  // A new record is refused by the primary key; a pending one must have been completed.
  const refused = shape.recordCommand === 'pending'
    ? `, CASE WHEN NOT EXISTS (SELECT FROM recorded) THEN raise_command_already_recorded($${commandAt}::text) END AS refused`
    : '';
  return `WITH ${ctes.join(',\n  ')}
  SELECT ${returnedColumns(shape, 'a.')}${refused} FROM appended a`;
}
