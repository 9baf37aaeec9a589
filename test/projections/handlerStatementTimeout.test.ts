import { describe, expect, it } from 'vitest';
import { createPgDb } from '../../core/db';
import { createProjector, defineProjection, generationTableName, getProjectionStatus, quoteIdentifier } from '../../core/projections';
import type { HandlerFailure } from '../../core/processing';
import { deposited, opened, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { streamIdInPartition } from '../support/streamInPartition';
import { useProjectionDatabase } from './support/projectionDatabase';

// The deployed pool bounds each statement (DB_QUERY_TIMEOUT_MS, 10 s in AWS); here a short bound.
const QUERY_BOUND_MS = 300;
const longBackoff = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };

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

      const projection = defineProjection<AccountEvent>()({
        name: 'slow_statement',
        version: 1,
        partitions: 2,
        tables: ['applied'],
        setup: async (tx, { applied }) => {
          await tx.query(`CREATE TABLE ${applied} (event_id uuid PRIMARY KEY, stream_id text NOT NULL)`);
        },
        handlers: {
          AccountOpened: async (event, { tx, tables }) => {
            // One account's write waits longer than the pool lets a statement run.
            if (event.data.owner === 'slow') await tx.query('SELECT pg_sleep(1)');
            await tx.query(`INSERT INTO ${tables.applied} VALUES ($1, $2)`, [event.eventId, event.streamId]);
          },
          MoneyDeposited: async (event, { tx, tables }) => {
            await tx.query(`INSERT INTO ${tables.applied} VALUES ($1, $2)`, [event.eventId, event.streamId]);
          },
        },
      });
      const told: HandlerFailure[] = [];
      const projector = createProjector({ db: bounded, projections: [projection], failurePolicy: longBackoff, onHandlerError: (failure) => told.push(failure) });

      await projector.runUntilCaughtUp();

      const [status] = await getProjectionStatus(db, 'slow_statement');
      const [slowPartition, otherPartition] = status?.generations[0]?.partitions ?? [];
      expect(slowPartition).toMatchObject({ partition: 0, state: 'rebuilding', attempts: 1, failedEventId: slow.events[0]?.eventId });
      expect(slowPartition?.lastError).toContain('DatabaseTimeoutError');
      expect(told.map((failure) => failure.partition)).toEqual([0]);
      expect(otherPartition).toMatchObject({ partition: 1, attempts: 0, lagEvents: 0 });
      const { rows } = await db.query<{ stream_id: string }>(`SELECT stream_id FROM ${quoteIdentifier(generationTableName('slow_statement', 'applied', 1))}`);
      expect(rows.map((row) => row.stream_id)).toEqual([otherStream, otherStream]);
    } finally {
      await bounded.close();
    }
  });
});
