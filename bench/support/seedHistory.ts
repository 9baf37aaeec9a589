import type { EventStore } from '../../core/eventstore';
import { nextEvents, STREAM_TYPE } from './sampleEvents';

const STREAMS = 2_000;
const EVENTS_PER_STREAM = 50;

/**
 * A store that has lived a while: 100,000 events over 2,000 streams, so
 * appends insert into indexes of a realistic size rather than a few pages.
 */
export async function seedHistory(store: EventStore): Promise<void> {
  for (let stream = 0; stream < STREAMS; stream++) {
    const streamId = `history-${stream}`;
    await store.appendToStream({ streamId, streamType: STREAM_TYPE, expectedVersion: 'no_stream', events: nextEvents(streamId, 0, EVENTS_PER_STREAM) });
  }
}
