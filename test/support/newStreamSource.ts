import type { Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type AppendResult, type NewEvent, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, type FeedSource } from '../../core/processing';
import { untilFeedHorizonPasses } from './feedHorizon';
import { uniqueStreamId, type AccountEvent } from './fixtures';

/**
 * Appends `events` to a new account stream and gives the feed as a source that
 * holds only them (one partition's worth, keyed by the stream), once the feed's
 * horizon has passed them: a processor on it sees nothing other specs append.
 */
export async function newStreamSource(db: Db, events: NewEvent<AccountEvent>[]): Promise<{ source: FeedSource<RecordedEvent>; events: AppendResult['events'] }> {
  const appended = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events });
  await untilFeedHorizonPasses(db);
  const mine = new Set(appended.events.map((event) => event.eventId));
  return { source: eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (mine.has(event.eventId) ? event.streamId : null) }), events: appended.events };
}
