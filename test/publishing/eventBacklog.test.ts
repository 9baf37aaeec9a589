import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { compareCheckpoints, createEventStore, FEED_SCAN_BOUND, LAG_SCAN_BOUND, NO_UPCASTING, START_OF_FEED, type Checkpoint } from '../../core/eventstore';
import { eventFeedSource } from '../../core/processing';
import { parkMessages } from '../../core/publishing';
import { eventMessages } from '../../core/publishing/eventMessages';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { backlogInPartitionZero } from '../support/otherPartitionBacklog';
import { streamIdInPartition } from '../support/streamInPartition';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

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

/** The newest event's place: the file's tests share its database, and each reads from where it began. */
async function feedEnd(database: Db): Promise<Checkpoint> {
  const { rows } = await database.query<{ tx_id: string; global_position: string }>(
    'SELECT e.tx_id::text, e.global_position::text FROM events e ORDER BY e.tx_id DESC, e.global_position DESC LIMIT 1',
  );
  const row = rows[0];
  return row ? { txId: BigInt(row.tx_id), position: BigInt(row.global_position) } : START_OF_FEED;
}

describe('a publisher partition of few streams, behind a long backlog of the other partition', () => {
  it('reads a window of the feed at a time: a page that found nothing there ends at its end, not caught up, and the next pages reach its event', async () => {
    const start = await feedEnd(db());
    await backlogInPartitionZero(db(), FEED_SCAN_BOUND * 2.5);
    const quiet = await streamIdInPartition(db(), 1, 2);
    const { events } = await createEventStore(db()).appendToStream({ streamId: quiet, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    const source = eventMessages();
    const { rows } = await db().query<{ tx_id: string; global_position: string }>(
      `SELECT e.tx_id::text, e.global_position::text FROM events e WHERE (e.tx_id, e.global_position) > ($1::xid8, $2::bigint)
       ORDER BY e.tx_id, e.global_position OFFSET $3::integer - 1 LIMIT 1`,
      [start.txId.toString(), start.position.toString(), FEED_SCAN_BOUND],
    );
    const windowEnd: Checkpoint = { txId: BigInt(rows[0]?.tx_id ?? 0), position: BigInt(rows[0]?.global_position ?? 0) };

    const first = await source.read(db(), { after: start, limit: 100, partition: { index: 1, count: 2 } });

    expect(first).toEqual({ items: [], checkpoint: windowEnd, caughtUp: false });
    let page = first;
    const pages = [first];
    while (!page.caughtUp && pages.length < 10) {
      page = await source.read(db(), { after: page.checkpoint, limit: 100, partition: { index: 1, count: 2 } });
      pages.push(page);
    }
    expect(pages.flatMap((read) => read.items.map((message) => message.eventId))).toEqual([events[0]?.eventId]);
    expect(pages.length).toBe(3);
    expect(compareCheckpoints(page.checkpoint, windowEnd)).toBeGreaterThan(0);
  });

  it('counts its backlog within a bounded walk: capped short of its event, and as far behind as the first event it has still to read', async () => {
    const start = await feedEnd(db());
    await backlogInPartitionZero(db(), FEED_SCAN_BOUND * 5.5);
    const quiet = await streamIdInPartition(db(), 1, 2);
    await createEventStore(db()).appendToStream({ streamId: quiet, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

    const lag = await eventMessages().lag(db(), { after: start, partition: { index: 1, count: 2 }, limit: 10_000 });

    expect(lag).toMatchObject({ items: 0, capped: true });
    expect(lag.oldestAgeSeconds).toBeGreaterThanOrEqual(3_600);
    expect(lag.oldestAgeSeconds).toBeLessThan(3_600 + 120);
  });

  it('given exactly as many events of the other partition as a count walks, and nothing after them, says nothing waits, as a filtered processor\'s count does', async () => {
    const start = await feedEnd(db());
    await backlogInPartitionZero(db(), LAG_SCAN_BOUND);
    await untilFeedHorizonPasses(db());

    const publisherLag = await eventMessages().lag(db(), { after: start, partition: { index: 1, count: 2 }, limit: 10_000 });
    const rareTypeLag = await eventFeedSource({ upcaster: NO_UPCASTING, eventTypes: ['RareThing'] }).lag(db(), { after: start, partition: { index: 0, count: 1 }, limit: 10_000 });

    expect({ publisherLag, rareTypeLag }).toEqual({
      publisherLag: { items: 0, capped: false, oldestAgeSeconds: 0 },
      rareTypeLag: { items: 0, capped: false, oldestAgeSeconds: 0 },
    });
  });
});
