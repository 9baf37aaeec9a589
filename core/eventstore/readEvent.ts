import type { Queryable } from '../db';
import { isUuid } from '../ids/uuidText';
import { EventValidationError } from './errors';
import { EVENT_COLUMNS, toRecordedEvent, type EventTuple } from './eventRow';
import type { EventShape, RecordedEvent } from './types';
import { NO_UPCASTING, type EventUpcaster } from './upcasterPort';

const READ_EVENT_SQL = `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.event_id = $1`;

/** Reads one event by id, or null if there is none. */
export async function readEvent<E extends EventShape = EventShape>(
  db: Queryable,
  eventId: string,
  upcaster: EventUpcaster = NO_UPCASTING,
): Promise<RecordedEvent<E> | null> {
  if (!isUuid(eventId)) {
    throw new EventValidationError([{ path: 'eventId', message: 'event id must be a UUID' }]);
  }
  const { rows } = await db.query<EventTuple>(READ_EVENT_SQL, [eventId], { name: 'read_event', rowMode: 'array' });
  const row = rows[0];
  return row ? (upcaster.upcast(toRecordedEvent(row)) as RecordedEvent<E>) : null;
}
