import { describe, expect, it } from 'vitest';
import type { Db, QueryOptions, QueryResult } from '../../core/db';
import type { RecordedEvent } from '../../core/eventstore';
import { getProcessorStatus, runFeedProcessor, type FeedProcessor, type FeedSource } from '../../core/processing';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(3);

const LEASE_MS = 2_000;
// Past half the lease: a batch's look at its lease, after the read, always comes too late to handle the page.
const READ_MS = LEASE_MS * 0.6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `source`, each read taking READ_MS more; `onRead` is told of each. */
function readingSlowly(source: FeedSource<RecordedEvent>, onRead: () => void = () => undefined): FeedSource<RecordedEvent> {
  return {
    ...source,
    read: async (...request) => {
      onRead();
      await sleep(READ_MS);
      return source.read(...request);
    },
  };
}

/** An external processor of one partition over `source` whose handler keeps each item's version in `handled`, or refuses every batch. */
function externalProcessor(name: string, source: FeedSource<RecordedEvent>, handled: number[] | 'refusing'): FeedProcessor<RecordedEvent> {
  return {
    name,
    partitions: 1,
    batchSize: 10,
    source,
    failurePolicy: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 },
    handler: {
      mode: 'external',
      handle: (items) => {
        if (handled === 'refusing') return Promise.resolve({ done: 0, error: new Error('NATS away') });
        handled.push(...items.map((item) => item.version));
        return Promise.resolve({ done: items.length });
      },
    },
  };
}

describe('an external drain whose page reads are slow', () => {
  it('given a source whose every read takes more than half the lease, when a run drains it, then every item is handled once, in order, and the run ends caught up', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 24 }, (_, index) => deposited(index + 1))]);
    let reads = 0;
    const handled: number[] = [];
    const processor = externalProcessor('slow-reads', readingSlowly(source, () => (reads += 1)), handled);

    const run = await runFeedProcessor(processor, { db, holder: 'slow-reads-spec', leaseTtlMs: LEASE_MS, deadline: Date.now() + 20_000, concurrency: 1 });

    expect(run).toMatchObject({ items: 25, caughtUp: true, stoppedByDeadline: false, failures: [], leaseLost: [] });
    expect(handled).toEqual(Array.from({ length: 25 }, (_, index) => index + 1));
    // Three pages, each read once (the last finds the head), and one look past the head after the release.
    expect(reads).toBeLessThanOrEqual(4);
  }, 30_000);

  it('given a destination refusing every batch as well, when a run drains it, then the pauses between tries grow and the run ends as an outage, not as short of time', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), deposited(1)]);
    const pauses: number[] = [];
    const processor = externalProcessor('slow-reads-refused', readingSlowly(source), 'refusing');

    const run = await runFeedProcessor(processor, {
      db,
      holder: 'slow-reads-refused-spec',
      leaseTtlMs: LEASE_MS,
      deadline: Date.now() + 12_000,
      concurrency: 1,
      interruptionBackoff: { baseMs: 200, maxMs: 5_000 },
      onInterrupted: ({ retryInMs }) => pauses.push(retryInMs),
    });

    expect(run).toMatchObject({ items: 0, caughtUp: false, stoppedByDeadline: false, failures: [] });
    // Each pause doubles the one before, with jitter between half and all of it: the third is at least 400 ms, the first at most 200.
    expect(pauses.length).toBeGreaterThanOrEqual(3);
    expect(pauses[2]).toBeGreaterThan(pauses[0] ?? Number.POSITIVE_INFINITY);
  }, 30_000);
});

/** The pool, as seen by a process whose every look at its lease (the external batch's gate) is answered `delayMs` late. */
function lateGateAnswers(db: Db, delayMs: number): Db {
  return {
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>> => {
      const answer = await db.query<Row>(text, params, options);
      if (options?.name === 'processor_external_batch_gate') await sleep(delayMs);
      return answer;
    },
    transaction: (work) => db.transaction(work),
    close: () => db.close(),
  };
}

describe('an external drain whose every look at its lease comes past half of it', () => {
  it('given a database that slow, when a run drains, then it handles nothing it could not finish under the lease, and says why, as an outage', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), deposited(1)]);
    const handled: number[] = [];
    const processor = externalProcessor('late-gate', source, handled);

    const run = await runFeedProcessor(processor, {
      db: lateGateAnswers(db, READ_MS),
      holder: 'late-gate-spec',
      leaseTtlMs: LEASE_MS,
      deadline: Date.now() + 8_000,
      concurrency: 1,
      interruptionBackoff: { baseMs: 100, maxMs: 400 },
    });

    expect(handled).toEqual([]);
    expect(run).toMatchObject({ items: 0, caughtUp: false, stoppedByDeadline: false });
    expect(String(run.lastError)).toMatch(/past half the lease \(1000 ms\): the database is slower than the lease allows for/);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition?.lastError).toMatch(/past half the lease/);
  }, 30_000);
});

describe('a page read ahead that the drain never handles', () => {
  it('given a run whose deadline comes while its next page is still being read, the run returns only once that read is over: no statement of it runs on', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 5 }, (_, index) => deposited(index + 1))]);
    let reads = 0;
    let readsOver = 0;
    let handedOver = false;
    // The read after the first page with items is the page read ahead while that one is handled.
    const readingAheadSlowly: FeedSource<RecordedEvent> = {
      ...source,
      read: async (...request) => {
        reads += 1;
        try {
          if (handedOver) await db.query('SELECT pg_sleep(1.5)');
          const page = await source.read(...request);
          handedOver ||= page.items.length > 0;
          return page;
        } finally {
          readsOver += 1;
        }
      },
    };
    const deadline = Date.now() + 800;
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'read-ahead-past-the-run',
      partitions: 1,
      batchSize: 2,
      source: readingAheadSlowly,
      failurePolicy: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 },
      handler: {
        mode: 'external',
        // Its whole page, answered just after the deadline: no next batch starts.
        handle: async (items) => {
          await sleep(Math.max(0, deadline - Date.now()) + 50);
          return { done: items.length };
        },
      },
    };

    const ran = await runFeedProcessor(processor, { db, holder: 'read-ahead-spec', leaseTtlMs: 10_000, deadline, concurrency: 1 });
    const overWhenTheRunReturned = readsOver;

    expect(ran.stoppedByDeadline).toBe(true);
    expect(ran.items).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(1);
    expect(overWhenTheRunReturned).toBe(reads);
  });
});
