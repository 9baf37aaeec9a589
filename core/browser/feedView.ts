import * as z from '../schema';
import { formatCheckpoint, MAX_NAME_LENGTH, NO_UPCASTING, parseCheckpoint, readFeed, START_OF_FEED, type Checkpoint } from '../eventstore';
import { BrowserInputError } from './browserErrors';
import type { BrowserSources } from './BrowserSources';
import { eventView } from './eventView';
import { PageLimit, parseQuery } from './pageCursor';

// A type is a name the store holds: one longer is a query that does not fit, as the feed would refuse it.
const FeedQuery = z.object({ after: z.optional(z.string()), type: z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_NAME_LENGTH))), limit: PageLimit });

function checkpointOf(after: string | undefined): Checkpoint {
  if (after === undefined || after === '') return START_OF_FEED;
  try {
    return parseCheckpoint(after);
  } catch {
    throw new BrowserInputError('INVALID_CURSOR', 'after must be a feed position a page gave out', { after });
  }
}

/** `GET /browser/api/feed?after=&type=`: the global feed in commit-safe order; `nextCursor` is the next page's `after`. */
export async function feedPage(sources: BrowserSources, query: Record<string, string | undefined>) {
  const { after, type, limit } = parseQuery(FeedQuery, query);
  const page = await readFeed(sources.db, { after: checkpointOf(after), batchSize: limit, ...(type ? { eventTypes: [type] } : {}) }, sources.upcaster);
  return {
    // readFeed upcasted them already.
    events: page.events.map((event) => eventView(event, NO_UPCASTING, false)),
    nextCursor: formatCheckpoint(page.checkpoint),
    caughtUp: page.caughtUp,
  };
}
