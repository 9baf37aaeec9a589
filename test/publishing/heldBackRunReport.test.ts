import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { stopProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { streamIdInPartition } from '../support/streamInPartition';
import { cleanedUpAfterEach, nothingWaits, publishEverything } from './publishingHarness';

const { harness } = cleanedUpAfterEach();

// Publishers died holding it: it waits out a backoff before anyone tries it again.
const HOLD_BACK_PARTITION_ONE = `
  UPDATE processor_partitions SET attempts = 2, last_error = 'LeaseRanOutError', next_attempt_at = now() + interval '1 hour'
  WHERE processor = 'publisher:events' AND partition = 1`;

describe('a publisher run beside a partition waiting out a backoff', () => {
  it('given nothing left to publish anywhere, then it reports caught up: the waiting partition is in the status, not the run', async () => {
    const h = await harness();
    const streamId = await streamIdInPartition(h.db, 0, 2);
    await h.store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const publisher = h.publisher({ partitions: 2 });
    await publishEverything(h.db, publisher);
    await h.db.query(HOLD_BACK_PARTITION_ONE);
    expect(await nothingWaits(h.db)).toBe(true);

    const report = await publisher.run({ deadline: Date.now() + 10_000 });

    expect(report).toMatchObject({ published: 0, retried: 0, failures: 0, lastError: null, caughtUp: true });
  });

  it('given an event waiting in the other partition, then it publishes it and reports caught up', async () => {
    const h = await harness();
    const publisher = h.publisher({ partitions: 2 });
    await publishEverything(h.db, publisher);
    await h.db.query(HOLD_BACK_PARTITION_ONE);
    const streamId = await streamIdInPartition(h.db, 0, 2);
    await h.store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(h.db);

    const report = await publisher.run({ deadline: Date.now() + 10_000 });

    expect(report).toMatchObject({ published: 1, failures: 0, caughtUp: true });
  });
});

/** The pool, except that the events publisher is stopped (by an operator, say) just as its drain looks before its second batch (its second gate). */
function stoppingBeforeSecondBatch(db: Db): Db {
  let gates = 0;
  return {
    query: async (text, params, options) => {
      if (options?.name === 'processor_external_batch_gate' && params?.[0] === 'publisher:events' && ++gates === 2) {
        await db.transaction((tx) => stopProcessor(tx, 'publisher:events'));
      }
      return db.query(text, params, options);
    },
    transaction: (work) => db.transaction(work),
    close: () => db.close(),
  };
}

describe('a publisher run whose events source is stopped after it published part of its partition', () => {
  it('does not report caught up: the partition it published from did not reach the head', async () => {
    const h = await harness();
    await h.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    await untilFeedHorizonPasses(h.db);
    const publisher = h.publisher({ partitions: 1, batchSize: 1, db: stoppingBeforeSecondBatch(h.db) });

    const report = await publisher.run({ deadline: Date.now() + 10_000 });

    expect(report).toMatchObject({ published: 1, caughtUp: false });
  });
});
