import type { Queryable } from '../db';
import { toAppendError } from './appendErrors';
import type { AppendRequest, AppendResult, EventShape } from './types';
import type { OutboxRouting } from './outboxPort';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';
import { DEFAULT_MAX_EVENT_BYTES, validateAppend } from './validateAppend';

interface AppendedRow {
  event_id: string;
  version: number;
  global_position: string;
  tx_id: string;
}

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

/**
 * Appends events to one stream in a single round trip: the expected version is
 * checked and all events are stored atomically, or nothing is written and a
 * typed error is thrown. Inside a caller's transaction it must be the first write.
 * With outbox routing, the outbox rows are written by the same call.
 */
export async function appendToStream<E extends EventShape>(
  db: Queryable,
  request: AppendRequest<E>,
  options: AppendOptions = {},
): Promise<AppendResult> {
  const { eventsJson, outbox } = validateAppend(
    request,
    options.upcaster ?? NO_UPCASTING,
    options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    options.outbox,
  );
  const { expectedVersion } = request;
  const mode = typeof expectedVersion === 'number' ? 'exact' : expectedVersion;
  const exact = typeof expectedVersion === 'number' ? expectedVersion : null;
  let rows: AppendedRow[];
  try {
    ({ rows } = await db.query<AppendedRow>(outbox ? APPEND_WITH_OUTBOX_SQL : APPEND_SQL, [
      request.streamId,
      request.streamType,
      mode,
      exact,
      eventsJson,
      request.idempotency ? JSON.stringify(request.idempotency) : null,
    ], { name: outbox ? 'append_to_stream_with_outbox' : 'append_to_stream' }));
  } catch (error) {
    throw toAppendError(error, request);
  }
  const events = rows
    .map((row) => ({ eventId: row.event_id, version: row.version, globalPosition: BigInt(row.global_position) }))
    .sort((a, b) => a.version - b.version);
  const last = events[events.length - 1];
  return {
    streamId: request.streamId,
    nextExpectedVersion: last?.version ?? 0,
    events,
    checkpoint: { txId: BigInt(rows[0]?.tx_id ?? 0), position: last?.globalPosition ?? 0n },
  };
}
