import * as z from '../schema';
import { readEvent } from '../eventstore';
import { BrowserNotFoundError } from './browserErrors';
import type { BrowserSources } from './BrowserSources';
import { eventView } from './eventView';
import { parseQuery } from './pageCursor';
import { isUuid } from '../ids/uuidText';

const EventQuery = z.object({ original: z.optional(z.enum(['true', 'false'])) });

/** `GET /browser/api/events/{eventId}`: one event, with links to its stream, its correlation's story and what caused it. */
export async function eventDetails(sources: BrowserSources, eventId: string, query: Record<string, string | undefined>) {
  const { original } = parseQuery(EventQuery, query);
  const stored = isUuid(eventId) ? await readEvent(sources.db, eventId) : null;
  if (!stored) throw new BrowserNotFoundError('EVENT_NOT_FOUND', `No event ${eventId}`, { eventId });
  const { correlationId, causationId, commandId, traceparent } = stored.metadata;
  const causedByEvent = causationId !== undefined && causationId !== commandId && isUuid(causationId) && (await readEvent(sources.db, causationId)) !== null;
  return {
    event: eventView(stored, sources.upcaster, original === 'true'),
    links: {
      stream: `/browser/api/streams/${encodeURIComponent(stored.streamId)}`,
      ...(correlationId ? { correlation: `/browser/api/correlations/${encodeURIComponent(correlationId)}` } : {}),
      ...(traceparent ? { trace: `/browser/api/traces/${traceparent.split('-')[1] ?? ''}` } : {}),
      ...(causedByEvent && causationId ? { causedBy: `/browser/api/events/${causationId}` } : {}),
      ...(commandId ? { command: `/commands/${encodeURIComponent(commandId)}` } : {}),
    },
  };
}
