import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { inSavepoint } from '../../core/db';
import { NO_UPCASTING } from '../../core/eventstore';
import { DEFAULT_FAILURE_POLICY } from '../../core/processing';
import { activateIfCaughtUp, createProjector, defineProjection, getProjectionStatus, processorNameOf, registerProjection } from '../../core/projections';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep, type AccountEvent } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { recordingProjection } from './support/recordingProjection';

// A database of its own: the first switch must find exactly these three events to catch up on.
const context = useProjectionDatabase();

/** Counts each account once: a second insert of one fails in a savepoint, which the handler rolls back and goes on. */
const firstDeposits = (version: number) =>
  defineProjection<AccountEvent>()({
    name: 'first_deposits',
    version,
    tables: ['seen'],
    setup: async (tx, { seen }) => {
      await tx.query(`CREATE TABLE ${seen} (stream_id text PRIMARY KEY)`);
    },
    handlers: {
      MoneyDeposited: async (event, { tx, tables }) => {
        try {
          await inSavepoint(tx, 'first_deposit', () => tx.query(`INSERT INTO ${tables.seen} VALUES ($1)`, [event.streamId]));
        } catch (error) {
          if ((error as { code?: string }).code !== '23505') throw error;
        }
      },
    },
  });

/** Another session holding a row lock until `until` (epoch ms); the returned function waits for its release. */
async function holdRow(url: string, sql: string, params: unknown[], until: number): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(sql, params);
  const released = sleep(Math.max(0, until - Date.now())).then(async () => {
    await client.query('COMMIT');
    await client.end();
  });
  return () => released;
}

describe('a switch whose catch-up runs a statement that begins before its deadline', () => {
  it('gives up, rolled back, rather than let the statement run past the deadline', async () => {
    const { db, store } = context();
    await store.appendToStream({ streamId: 'late-0', streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name: 'late', version: 1 })] }).runUntilCaughtUp();
    // The switch catches the build up in two batches of two: the first takes 500 ms, and
    // the second's handler runs a 1 s statement, begun before the deadline (1 s away).
    let applied = 0;
    const build = recordingProjection({
      name: 'late',
      version: 2,
      batchSize: 2,
      beforeApply: async (tx) => {
        applied += 1;
        if (applied === 1) await sleep(500);
        if (applied === 3) await tx.query('SELECT pg_sleep(1)');
      },
    });
    const [generation] = await registerProjection(db, build);
    if (generation?.status !== 'building') throw new Error('the version bump registers a generation to build');
    const deadline = Date.now() + 1_000;

    const { switched } = await activateIfCaughtUp(db, build, generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY, deadline);

    expect({ applied, switched }).toEqual({ applied: 3, switched: false });
    // The statement was cut at the deadline, not at its end about 500 ms later.
    expect(Date.now() - deadline).toBeLessThan(280);
    const [status] = await getProjectionStatus(db, 'late');
    expect(status?.activeGeneration).toBe(1);
  });

  it('switches when a handler of its catch-up recovers from a failed statement in a savepoint, as the build’s own batches do', async () => {
    const { db, store } = context();
    await store.appendToStream({ streamId: 'sp-0', streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [firstDeposits(1)] }).runUntilCaughtUp();
    const build = firstDeposits(2);
    const [generation] = await registerProjection(db, build);
    if (generation?.status !== 'building') throw new Error('the version bump registers a generation to build');
    // A second deposit to the account: its handler's insert fails, in a savepoint.
    await store.appendToStream({ streamId: 'sp-0', streamType: 'account', expectedVersion: 2, events: [deposited(2)] });
    await untilFeedHorizonPasses(db);

    const { switched } = await activateIfCaughtUp(db, build, generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY, Date.now() + 10_000);

    const [status] = await getProjectionStatus(db, 'first_deposits');
    expect({ switched, active: status?.activeGeneration }).toEqual({ switched: true, active: 2 });
  });

  it('gives up at the deadline when its statements after the catch-up wait for locks past it', async () => {
    const { db, store, url } = context();
    await store.appendToStream({ streamId: 'after-0', streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [recordingProjection({ name: 'after', version: 1 })] }).runUntilCaughtUp();
    const build = recordingProjection({ name: 'after', version: 2, batchSize: 1_000 });
    const [generation] = await registerProjection(db, build);
    if (generation?.status !== 'building') throw new Error('the version bump registers a generation to build');
    const deadline = Date.now() + 1_500;
    // Rows the serving generation's retirement writes, each held by another session:
    // the first until just before the deadline, the second well past it.
    const first = await holdRow(url, 'SELECT FROM projection_generations WHERE name = $1 AND generation = 1 FOR UPDATE', ['after'], deadline - 150);
    const second = await holdRow(url, 'SELECT FROM feed_processors WHERE name = $1 FOR UPDATE', [processorNameOf('after', 1)], deadline + 800);

    const { switched } = await activateIfCaughtUp(db, build, generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY, deadline);
    const pastDeadlineMs = Date.now() - deadline;
    await first();
    await second();

    expect(switched).toBe(false);
    expect(pastDeadlineMs).toBeLessThan(400);
    const [status] = await getProjectionStatus(db, 'after');
    expect(status?.activeGeneration).toBe(1);
  });
});
