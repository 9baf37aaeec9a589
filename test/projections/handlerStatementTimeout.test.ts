import { describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { createProjector, defineProjection, generationTableName, getProjectionStatus, processorNameOf, quoteIdentifier } from '../../core/projections';
import { stopProcessor, type HandlerFailure } from '../../core/processing';
import { deposited, opened, sleep, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { streamIdInPartition } from '../support/streamInPartition';
import { useProjectionDatabase } from './support/projectionDatabase';

// The deployed pool bounds each statement (DB_QUERY_TIMEOUT_MS, 10 s in AWS); here a short bound.
const QUERY_BOUND_MS = 300;
const longBackoff = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };

/**
 * Records each event applied; the account owned by `slow` is written by a
 * statement longer than the bound, after `workMs` of other work and whatever
 * `meanwhile` does.
 */
const slowForOneAccount = (name: string, partitions: number, workMs: number, meanwhile: () => Promise<void> = () => Promise.resolve()) =>
  defineProjection<AccountEvent>()({
    name,
    version: 1,
    partitions,
    tables: ['applied'],
    setup: async (tx, { applied }) => {
      await tx.query(`CREATE TABLE ${applied} (event_id uuid PRIMARY KEY, stream_id text NOT NULL)`);
    },
    handlers: {
      AccountOpened: async (event, { tx, tables }) => {
        if (event.data.owner === 'slow') {
          await meanwhile();
          await sleep(workMs);
          await tx.query('SELECT pg_sleep(1)');
        }
        await tx.query(`INSERT INTO ${tables.applied} VALUES ($1, $2)`, [event.eventId, event.streamId]);
      },
      MoneyDeposited: async (event, { tx, tables }) => {
        await tx.query(`INSERT INTO ${tables.applied} VALUES ($1, $2)`, [event.eventId, event.streamId]);
      },
    },
  });

const appliedStreams = async (db: Db, projection: string) => {
  const { rows } = await db.query<{ stream_id: string }>(`SELECT stream_id FROM ${quoteIdentifier(generationTableName(projection, 'applied', 1))}`);
  return rows.map((row) => row.stream_id);
};

describe("a projection handler whose statement outlasts the pool's query bound", () => {
  const context = useProjectionDatabase();

  it('fails its batch under the failure policy, counted on its partition, and the other partition is applied all the same', async () => {
    const { db, url, store } = context();
    const bounded = createPgDb({ connectionString: url, max: 2, queryTimeoutMs: QUERY_BOUND_MS });
    try {
      const slowStream = await streamIdInPartition(db, 0, 2);
      const otherStream = await streamIdInPartition(db, 1, 2);
      const slow = await store.appendToStream<AccountEvent>({ streamId: slowStream, streamType: 'account', expectedVersion: 'no_stream', events: [opened('slow')] });
      await store.appendToStream<AccountEvent>({ streamId: otherStream, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5)] });
      await untilFeedHorizonPasses(db);
      const told: HandlerFailure[] = [];
      const projector = createProjector({ db: bounded, projections: [slowForOneAccount('slow_statement', 2, 0)], failurePolicy: longBackoff, onHandlerError: (failure) => told.push(failure) });

      await projector.runUntilCaughtUp();

      const [status] = await getProjectionStatus(db, 'slow_statement');
      const [slowPartition, otherPartition] = status?.generations[0]?.partitions ?? [];
      expect(slowPartition).toMatchObject({ partition: 0, state: 'rebuilding', attempts: 1, failedEventId: slow.events[0]?.eventId });
      expect(slowPartition?.lastError).toContain('DatabaseTimeoutError');
      expect(told.map((failure) => failure.partition)).toEqual([0]);
      expect(otherPartition).toMatchObject({ partition: 1, attempts: 0, lagEvents: 0 });
      expect(await appliedStreams(db, 'slow_statement')).toEqual([otherStream, otherStream]);
    } finally {
      await bounded.close();
    }
  });

  it('is counted also when its batch outlasted the lease first, no one having taken the partition over', async () => {
    const { db, url, store } = context();
    const bounded = createPgDb({ connectionString: url, max: 2, queryTimeoutMs: QUERY_BOUND_MS });
    try {
      await store.appendToStream<AccountEvent>({ streamId: `late-${crypto.randomUUID()}`, streamType: 'account', expectedVersion: 'no_stream', events: [opened('slow')] });
      await untilFeedHorizonPasses(db);
      // The lease runs out 800 ms into the batch; the statement is given up at about 1.1 s.
      const projector = createProjector({ db: bounded, projections: [slowForOneAccount('slow_past_lease', 1, 800)], failurePolicy: longBackoff, leaseTtlMs: 800 });

      await projector.runUntilCaughtUp();

      const [status] = await getProjectionStatus(db, 'slow_past_lease');
      const [partition] = status?.generations[0]?.partitions ?? [];
      expect(partition).toMatchObject({ state: 'rebuilding', attempts: 1 });
      expect(partition?.lastError).toContain('DatabaseTimeoutError');
      expect(partition?.nextAttemptAt).toBeInstanceOf(Date);
    } finally {
      await bounded.close();
    }
  });

  it('is not counted when its processor was stopped meanwhile (a build retired by another): nothing more runs on it', async () => {
    const { db, url, store } = context();
    const bounded = createPgDb({ connectionString: url, max: 2, queryTimeoutMs: QUERY_BOUND_MS });
    try {
      await store.appendToStream<AccountEvent>({ streamId: `retired-${crypto.randomUUID()}`, streamType: 'account', expectedVersion: 'no_stream', events: [opened('slow')] });
      await untilFeedHorizonPasses(db);
      // Stopped from elsewhere while the batch is under way, before its slow statement.
      const retired = slowForOneAccount('slow_retired', 1, 0, async () => {
        await stopProcessor(db, processorNameOf('slow_retired', 1));
      });
      const projector = createProjector({ db: bounded, projections: [retired], failurePolicy: longBackoff });

      await projector.runUntilCaughtUp();

      const [status] = await getProjectionStatus(db, 'slow_retired');
      expect(status?.generations[0]?.partitions[0]).toMatchObject({ attempts: 0, lastError: null });
    } finally {
      await bounded.close();
    }
  });
});
