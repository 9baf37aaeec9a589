import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { runFeedProcessor, type FeedProcessor, type FeedSource } from '../../core/processing';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(6);

const LEASE_MS = 1_500;
// The page read ahead outlasts the whole lease, counted from the end of the drain.
const READ_AHEAD_SECONDS = 3.5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a drain waiting for its read ahead before it gives its lease back', () => {
  it('given a read ahead outlasting the lease, when another instance runs meanwhile, then it finds the partition held, and every item is handled once, in order', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 5 }, (_, index) => deposited(index + 1))]);
    let handedOver = false;
    let readAheadBegan: (() => void) | undefined;
    const readAhead = new Promise<void>((resolve) => (readAheadBegan = resolve));
    // The read after the first page with items is the page read ahead while that one is handled.
    const slowAfterTheFirstPage: FeedSource<RecordedEvent> = {
      ...source,
      read: async (...request) => {
        if (handedOver && readAheadBegan) {
          readAheadBegan();
          readAheadBegan = undefined;
          await db.query('SELECT pg_sleep($1)', [READ_AHEAD_SECONDS]);
        }
        const page = await source.read(...request);
        handedOver ||= page.items.length > 0;
        return page;
      },
    };
    const handled: Array<{ holder: string; version: number }> = [];
    const processorFor = (holder: string, feed: FeedSource<RecordedEvent>, answerAfter: () => number): FeedProcessor<RecordedEvent> => ({
      name: 'read-ahead-lease',
      partitions: 1,
      batchSize: 2,
      source: feed,
      failurePolicy: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 },
      handler: {
        mode: 'external',
        handle: async (items) => {
          await sleep(answerAfter());
          handled.push(...items.map((item) => ({ holder, version: item.version })));
          return { done: items.length };
        },
      },
    });
    const deadline = Date.now() + 600;
    // Its first page answered just after its deadline: no next batch starts, and the drain waits for the read ahead.
    const first = runFeedProcessor(
      processorFor('first', slowAfterTheFirstPage, () => Math.max(0, deadline - Date.now()) + 50),
      { db, holder: 'first', leaseTtlMs: LEASE_MS, deadline, concurrency: 1 },
    );
    await readAhead;
    await sleep(LEASE_MS + 500);

    const meanwhile = await runFeedProcessor(processorFor('meanwhile', source, () => 0), { db, holder: 'meanwhile', leaseTtlMs: LEASE_MS, deadline: Date.now() + 1_000, concurrency: 1 });
    const firstRun = await first;
    const after = await runFeedProcessor(processorFor('after', source, () => 0), { db, holder: 'after', leaseTtlMs: LEASE_MS, deadline: Date.now() + 5_000, concurrency: 1 });

    expect(meanwhile.items).toBe(0);
    expect(firstRun).toMatchObject({ items: 2, stoppedByDeadline: true, leaseLost: [] });
    expect(after).toMatchObject({ items: 4, caughtUp: true });
    expect(handled).toEqual([
      { holder: 'first', version: 1 },
      { holder: 'first', version: 2 },
      ...[3, 4, 5, 6].map((version) => ({ holder: 'after', version })),
    ]);
  }, 30_000);
});
