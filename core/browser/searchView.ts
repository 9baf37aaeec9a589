import type { BrowserSources } from './BrowserSources';
import { isUuid } from '../ids/uuidText';
import { hasCorrelation, hasTrace, storyCheckpoint } from './storyQueries';

export interface SearchMatch {
  kind: 'event' | 'stream' | 'correlation' | 'trace' | 'saga';
  id: string;
  href: string;
}

// $4 and $5: the story index's checkpoint.
const SEARCH_SQL = `
  SELECT
    EXISTS (SELECT 1 FROM events WHERE $2 AND event_id = $1::text::uuid) AS event,
    EXISTS (SELECT 1 FROM events WHERE stream_id = $1) AS stream,
    ${hasCorrelation(4)}
      OR EXISTS (SELECT 1 FROM commands WHERE correlation_id = $1) AS correlation,
    $3 AND (${hasTrace(4)}) AS trace,
    EXISTS (SELECT 1 FROM saga_instances WHERE saga_id = $1) AS saga`;

/**
 * `GET /browser/api/search?q=`: what an id is, on the server: an event id, a
 * stream id, a correlation id, a trace id or a saga instance; all that match.
 */
export async function search(sources: BrowserSources, query: Record<string, string | undefined>) {
  const q = (query.q ?? '').trim();
  if (q === '' || q.length > 200) return { q, matches: [] };
  const isTraceId = /^[0-9a-f]{32}$/.test(q);
  const checkpoint = await storyCheckpoint(sources.db);
  const { rows } = await sources.db.query<Record<SearchMatch['kind'], boolean>>(SEARCH_SQL, [q, isUuid(q), isTraceId, ...checkpoint]);
  const found = rows[0];
  const href: Record<SearchMatch['kind'], string> = {
    event: `/browser/api/events/${q}`,
    stream: `/browser/api/streams/${encodeURIComponent(q)}`,
    correlation: `/browser/api/correlations/${encodeURIComponent(q)}`,
    trace: `/browser/api/traces/${q}`,
    saga: `/browser/api/sagas/${encodeURIComponent(q)}`,
  };
  const kinds = (['event', 'stream', 'correlation', 'trace', 'saga'] as const).filter((kind) => found?.[kind] === true);
  return { q, matches: kinds.map((kind): SearchMatch => ({ kind, id: q, href: href[kind] })) };
}
