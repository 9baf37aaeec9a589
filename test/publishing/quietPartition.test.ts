import { describe, expect, it } from 'vitest';
import { FEED_SCAN_BOUND } from '../../core/eventstore';
import { eventRouting, readPublishingStatus } from '../../core/publishing';
import { opened } from '../support/fixtures';
import { backlogInPartitionZero } from '../support/otherPartitionBacklog';
import { streamIdInPartition } from '../support/streamInPartition';
import { cleanedUpAfterEach, messagesOf, runUntil } from './publishingHarness';

const { harness } = cleanedUpAfterEach();

describe('a publisher partition of few streams, behind more private events of the other partition than a page walks', () => {
  it('gets past them a window at a time and publishes its event once', async () => {
    const h = await harness();
    await backlogInPartitionZero(h.db, FEED_SCAN_BOUND * 2.5);
    const quiet = await streamIdInPartition(h.db, 1, 2);
    const { events } = await h.store.appendToStream({ streamId: quiet, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    // The backlog is private: walked past, never sent.
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'Posted' ? null : undefined) });
    const publisher = h.publisher({ partitions: 2, routing });

    const totals = await runUntil(publisher, (sofar) => sofar.published > 0 && sofar.caughtUp);

    expect({ published: totals.published, parked: totals.parked, failures: totals.failures, lastError: totals.lastError }).toEqual({ published: 1, parked: 0, failures: 0, lastError: null });
    expect((await messagesOf(h, [quiet])).map((message) => message.header.get('Event-Id'))).toEqual([events[0]?.eventId]);
    expect(await readPublishingStatus(h.db)).toMatchObject({ events: { backlog: 0 }, parked: 0 });
  });
});
