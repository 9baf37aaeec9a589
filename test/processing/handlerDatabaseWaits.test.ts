import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// The deployed pool bounds each statement (DB_QUERY_TIMEOUT_MS, 10 s in AWS); here a short bound.
const QUERY_BOUND_MS = 300;

let database: TestDatabase;
let db: Db;
let bounded: Db;
let other: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPgDb({ connectionString: database.url, max: 2 });
  bounded = createPgDb({ connectionString: database.url, max: 2, queryTimeoutMs: QUERY_BOUND_MS });
  other = new pg.Client({ connectionString: database.url });
  await other.connect();
  await db.query('CREATE TABLE ledger (event_id uuid PRIMARY KEY)');
});

afterAll(async () => {
  await other.end();
  await bounded.close();
  await db.close();
  await database.drop();
});

const ledgerWriter: FeedProcessor<RecordedEvent> = {
  name: 'ledger_writer',
  partitions: 1,
  batchSize: 10,
  source: eventFeedSource({ upcaster: NO_UPCASTING }),
  failurePolicy: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
  handler: {
    mode: 'transactional',
    async handle(events, { tx }) {
      for (const event of events) await tx.query('INSERT INTO ledger (event_id) VALUES ($1)', [event.eventId]);
    },
  },
};

const runOnce = (holder: string) => runFeedProcessor(ledgerWriter, { db: bounded, holder, leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });

describe("a transactional handler's plain error that is the database waiting, not the handler failing", () => {
  it('given a table locked by another session past the pool’s bound (a migration), when runs meet it, then it is shown and retried, never marked failed, and once the lock goes the event is handled', async () => {
    await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    await other.query('BEGIN');
    await other.query('LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE');
    try {
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        const run = await runOnce(`locked-${attempt}`);
        expect(run.failures).toEqual([expect.objectContaining({ state: 'running' })]);
        await sleep(50);
      }
      const [waiting] = await getProcessorStatus(db, ledgerWriter);
      expect(waiting).toMatchObject({ state: 'running', attempts: 3 });
      expect(waiting?.lastError).toContain('DatabaseTimeoutError');
    } finally {
      await other.query('ROLLBACK');
    }

    const after = await runOnce('unlocked');

    expect(after.items).toBe(1);
    expect((await db.query('SELECT event_id FROM ledger')).rows).toHaveLength(1);
    expect((await getProcessorStatus(db, ledgerWriter))[0]).toMatchObject({ state: 'running', attempts: 0, lastError: null });
  });
});
