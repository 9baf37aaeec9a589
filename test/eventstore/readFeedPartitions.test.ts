import { expect, it } from 'vitest';
import { EventValidationError, START_OF_FEED, compareCheckpoints, type Checkpoint } from '../../core/eventstore';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { readThrough, readToHead } from '../support/followFeed';

const PARTITIONS = 3;

describeOnEachDriver('the global feed split into partitions', (context) => {
  it('gives each stream to exactly one partition, in its own order, and moves every partition past the others\' events', async () => {
    const streamIds = Array.from({ length: 60 }, () => uniqueStreamId());
    let last: Checkpoint = START_OF_FEED;
    for (const streamId of streamIds) {
      const result = await context().store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
      if (compareCheckpoints(result.checkpoint, last) > 0) last = result.checkpoint;
    }

    // Read in one go once all of them are visible: a partition that stopped at its own last event would stand short of `last`.
    await untilFeedHorizonPasses(context().db);
    const partitions = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, index) =>
        readToHead(context().store, START_OF_FEED, { batchSize: 2, partition: { index, count: PARTITIONS } }),
      ),
    );
    const owners = new Map<string, number[]>();
    for (const [index, { events, checkpoint }] of partitions.entries()) {
      expect(compareCheckpoints(checkpoint, last), `partition ${index} reached the last event`).toBeGreaterThanOrEqual(0);
      for (const event of events.filter((candidate) => streamIds.includes(candidate.streamId))) {
        owners.set(event.streamId, [...(owners.get(event.streamId) ?? []), index]);
      }
      const ours = events.filter((event) => streamIds.includes(event.streamId));
      for (const streamId of new Set(ours.map((event) => event.streamId))) {
        expect(ours.filter((event) => event.streamId === streamId).map((event) => event.version)).toEqual([1, 2, 3]);
      }
    }
    expect([...owners.keys()].sort()).toEqual([...streamIds].sort());
    for (const [streamId, indexes] of owners) expect(new Set(indexes).size, streamId).toBe(1);
    // With 60 random streams over 3 partitions, one is left without work once in 10^10 runs.
    expect(new Set([...owners.values()].map(([index]) => index)).size).toBe(PARTITIONS);
  });

  it('agrees with stream_partition, the platform\'s one partition function', async () => {
    const streamId = uniqueStreamId();
    const appended = await context().store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const { rows } = await context().db.query<{ partition: number }>('SELECT stream_partition($1, 5) AS partition', [streamId]);
    const index = rows[0]?.partition ?? -1;
    const inOwn = await readThrough(context().store, START_OF_FEED, appended.checkpoint, { partition: { index, count: 5 } });
    const inOther = await readThrough(context().store, START_OF_FEED, appended.checkpoint, { partition: { index: (index + 1) % 5, count: 5 } });
    expect(inOwn.events.map((event) => event.streamId)).toContain(streamId);
    expect(inOther.events.map((event) => event.streamId)).not.toContain(streamId);
  });

  it('refuses a partition outside its count', async () => {
    for (const partition of [{ index: 3, count: 3 }, { index: -1, count: 3 }, { index: 0, count: 0 }, { index: 0.5, count: 2 }]) {
      await expect(context().store.readFeed({ partition }), JSON.stringify(partition)).rejects.toBeInstanceOf(EventValidationError);
    }
  });
});
