import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
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

/** `source`, the read after its first page with items (the page read ahead while that one is handled) waiting READ_AHEAD_SECONDS in the database; `onReadAhead` is told when it begins. */
function slowAfterTheFirstPage(db: Db, source: FeedSource<RecordedEvent>, onReadAhead: () => void = () => undefined): FeedSource<RecordedEvent> {
  let handedOver = false;
  let readAhead = false;
  return {
    ...source,
    read: async (...request) => {
      if (handedOver && !readAhead) {
        readAhead = true;
        onReadAhead();
        await db.query('SELECT pg_sleep($1)', [READ_AHEAD_SECONDS]);
      }
      const page = await source.read(...request);
      handedOver ||= page.items.length > 0;
      return page;
    },
  };
}

/** An external processor of one partition, two items a batch, handling each batch with `handle`. */
const externalProcessor = (name: string, source: FeedSource<RecordedEvent>, handle: (items: readonly RecordedEvent[]) => Promise<void>): FeedProcessor<RecordedEvent> => ({
  name,
  partitions: 1,
  batchSize: 2,
  source,
  failurePolicy: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 },
  handler: {
    mode: 'external',
    handle: async (items) => {
      await handle(items);
      return { done: items.length };
    },
  },
});

describe('a drain waiting for its read ahead before it gives its lease back', () => {
  it('given a read ahead outlasting the lease, when another instance runs meanwhile, then it finds the partition held, and every item is handled once, in order', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 5 }, (_, index) => deposited(index + 1))]);
    let readAheadBegan: () => void = () => undefined;
    const readAhead = new Promise<void>((resolve) => (readAheadBegan = resolve));
    const handled: Array<{ holder: string; version: number }> = [];
    const processorFor = (holder: string, feed: FeedSource<RecordedEvent>, answerAfter: () => number) =>
      externalProcessor('read-ahead-lease', feed, async (items) => {
        await sleep(answerAfter());
        handled.push(...items.map((item) => ({ holder, version: item.version })));
      });
    const deadline = Date.now() + 600;
    // Its first page answered just after its deadline: no next batch starts, and the drain waits for the read ahead.
    const first = runFeedProcessor(
      processorFor('first', slowAfterTheFirstPage(db, source, () => {
        readAheadBegan();
      }), () => Math.max(0, deadline - Date.now()) + 50),
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

  it('given a drain that lost its lease while its read ahead runs, it waits for the read without renewing a lease that is no longer its own', async () => {
    const pool = testDatabase();
    const { source } = await newStreamSource(pool, [opened(), ...Array.from({ length: 5 }, (_, index) => deposited(index + 1))]);
    let takenOver = false;
    let renewalsAfterTakeover = 0;
    // The pool as the run sees it, counting the lease renewals it sends once another holder took the partition.
    const db: Db = {
      query: (text, params, options) => {
        if (takenOver && text.includes('UPDATE partition_leases AS l')) renewalsAfterTakeover += 1;
        return pool.query(text, params, options);
      },
      transaction: (work, options) => pool.transaction(work, options),
      close: () => pool.close(),
    };
    // Another instance takes the partition over while the first page is handled: its checkpoint is refused.
    const processor = externalProcessor('read-ahead-lease-lost', slowAfterTheFirstPage(pool, source), async () => {
      await pool.query("UPDATE partition_leases SET holder = 'another', epoch = epoch + 1 WHERE lease_group = $1", ['read-ahead-lease-lost']);
      takenOver = true;
    });

    const run = await runFeedProcessor(processor, { db, holder: 'lost', leaseTtlMs: 900, deadline: Date.now() + 10_000, concurrency: 1 });

    expect(run.leaseLost).toEqual([0]);
    expect(renewalsAfterTakeover).toBe(0);
  }, 30_000);
});
