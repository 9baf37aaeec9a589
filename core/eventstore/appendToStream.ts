import type { Queryable } from '../db';
import { toAppendError } from './appendErrors';
import { appendOneEvent, type AppendedRow } from './appendOneEvent';
import type { AppendRequest, AppendResult, EventShape } from './types';
import type { OutboxRouting } from './outboxPort';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';
import { DEFAULT_MAX_EVENT_BYTES, validateAppend, type SerializedEvent } from './validateAppend';

const APPEND_SQL =
  'SELECT event_id, version, global_position, tx_id FROM append_to_stream($1, $2, $3, $4, $5::jsonb, $6::jsonb)';
const APPEND_WITH_OUTBOX_SQL =
  'SELECT event_id, version, global_position, tx_id FROM append_to_stream_with_outbox($1, $2, $3, $4, $5::jsonb, $6::jsonb)';

export interface AppendOptions {
  maxEventBytes?: number;
  upcaster?: EventUpcaster;
  /** Events it gives a subject are also written to the outbox, in the same call. */
  outbox?: OutboxRouting;
}

/** Where the append runs: on its own (autocommit) or inside a caller's transaction. */
export type AppendScope = 'own-transaction' | 'callers-transaction';

/**
 * Appends events to one stream in a single round trip: the expected version is
 * checked and all events are stored atomically, or nothing is written and a
 * typed error is thrown. Inside a caller's transaction it must be the first write.
 * With outbox routing, the outbox rows are written by the same call.
 *
 * One event at an exact version, in a transaction of its own, goes out as one
 * statement (see appendOneEvent); when that writes nothing, a second round trip
 * through append_to_stream names the error.
 */
export async function appendToStream<E extends EventShape>(
  db: Queryable,
  request: AppendRequest<E>,
  options: AppendOptions = {},
  scope: AppendScope = 'callers-transaction',
): Promise<AppendResult> {
  const events = validateAppend(
    request,
    options.upcaster ?? NO_UPCASTING,
    options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    options.outbox,
  );
  const [only] = events;
  const { expectedVersion } = request;
  const oneStatement =
    scope === 'own-transaction' && typeof expectedVersion === 'number' && expectedVersion > 0 &&
    only !== undefined && events.length === 1 && only.subject === null && !request.idempotency;
  let rows: AppendedRow[];
  try {
    rows =
      (oneStatement ? await appendOneEvent(db, { ...request, expectedVersion }, only) : null) ??
      (await callAppendToStream(db, request, events));
  } catch (error) {
    throw toAppendError(error, request);
  }
  const appended = rows
    .map((row) => ({ eventId: row.event_id, version: row.version, globalPosition: BigInt(row.global_position) }))
    .sort((a, b) => a.version - b.version);
  const last = appended[appended.length - 1];
  return {
    streamId: request.streamId,
    nextExpectedVersion: last?.version ?? 0,
    events: appended,
    checkpoint: { txId: BigInt(rows[0]?.tx_id ?? 0), position: last?.globalPosition ?? 0n },
  };
}

async function callAppendToStream(db: Queryable, request: AppendRequest, events: readonly SerializedEvent[]): Promise<AppendedRow[]> {
  const { expectedVersion } = request;
  const outbox = events.some((event) => event.subject !== null);
  const { rows } = await db.query<AppendedRow>(outbox ? APPEND_WITH_OUTBOX_SQL : APPEND_SQL, [
    request.streamId,
    request.streamType,
    typeof expectedVersion === 'number' ? 'exact' : expectedVersion,
    typeof expectedVersion === 'number' ? expectedVersion : null,
    eventsArrayJson(events),
    request.idempotency ? JSON.stringify(request.idempotency) : null,
  ], { name: outbox ? 'append_to_stream_with_outbox' : 'append_to_stream' });
  return rows;
}

/** The events as append_to_stream's JSON array; an event bound for the outbox carries its subject. */
function eventsArrayJson(events: readonly SerializedEvent[]): string {
  const members = events.map((event) => {
    const subject = event.subject === null ? '' : `,"subject":${JSON.stringify(event.subject)}`;
    return `{"eventId":"${event.eventId}","type":${JSON.stringify(event.type)},"schemaVersion":${event.schemaVersion},"data":${event.data},"metadata":${event.metadata}${subject}}`;
  });
  return `[${members.join(',')}]`;
}
