import { describe, expect, it } from 'vitest';
import { createEventStore, START_OF_FEED } from '../../core/eventstore';
import { parkMessages } from '../../core/publishing';
import { eventMessages } from '../../core/publishing/eventMessages';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);

describe('the events backlog of a publisher partition', () => {
  it('given more parked events past the checkpoint than one count walks, still counts the event waiting behind them', async () => {
    const streamId = uniqueStreamId();
    const { events } = await createEventStore(db()).appendToStream({
      streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2), deposited(3)],
    });
    const parked = events.slice(0, 3).map((event) => ({ messageId: event.eventId, orderingKey: streamId, subject: 'nowhere.x', error: 'no stream' }));
    await parkMessages(db(), 'events', parked);

    const lag = await eventMessages().lag(db(), { after: START_OF_FEED, partition: { index: 0, count: 1 }, limit: 2 });

    expect(lag).toMatchObject({ items: 1, capped: false });
    expect(lag.oldestAgeSeconds).toBeGreaterThan(0);
  });
});
