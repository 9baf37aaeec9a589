import { describe, expect, it } from 'vitest';
import { DEFAULT_FAILURE_POLICY, type HandlerFailure } from '../../core/processing';
import { activateIfCaughtUp, createProjector, ProjectorRunError, defineProjection, generationTableName, getProjectionStatus, quoteIdentifier, rebuildProjection, registerProjection } from '../../core/projections';
import { ConnectionLostError, type Db, type Queryable } from '../../core/db';
import { NO_UPCASTING, START_OF_FEED, type EventStore } from '../../core/eventstore';
import { deferred, deposited, opened, sleep, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { readThrough } from '../support/followFeed';
import { streamIdInPartition } from '../support/streamInPartition';
import { useProjectionDatabase } from './support/projectionDatabase';
import { stallingInABatch } from './support/stallingInABatch';
import { appendAcrossStreams, expectExactlyOnceInOrder, readApplied, recordingProjection } from './support/recordingProjection';

// Short, so the hung batch is past its lease at once; its transaction's idle bound is then the floor, 10 s.
const TTL_MS = 500;
const IDLE_BOUND_MS = 10_000;

/**
 * Records each event applied. The handler of the account owned by `waits` first waits past the idle
 * bound on something else than the database, then writes; that of `lingers` writes, then waits.
 */
const waitingPastTheIdleBound = defineProjection<AccountEvent>()({
  name: 'waits_outside',
  version: 1,
  partitions: 3,
  tables: ['applied'],
  setup: async (tx, { applied }) => {
    await tx.query(`CREATE TABLE ${applied} (event_id uuid PRIMARY KEY, stream_id text NOT NULL)`);
  },
  handlers: {
    AccountOpened: async (event, { tx, tables }) => {
      if (event.data.owner === 'waits') await sleep(IDLE_BOUND_MS + 1_000);
      await tx.query(`INSERT INTO ${tables.applied} VALUES ($1, $2)`, [event.eventId, event.streamId]);
      if (event.data.owner === 'lingers') await sleep(IDLE_BOUND_MS + 1_000);
    },
    MoneyDeposited: async (event, { tx, tables }) => {
      await tx.query(`INSERT INTO ${tables.applied} VALUES ($1, $2)`, [event.eventId, event.streamId]);
    },
  },
});

/**
 * Given version 1 of `name` serving a stream's two events, and version 2 registered to be built, its
 * processor registered and no batch run, `beforeApply` in its handler: its switch has both events to apply.
 */
async function buildAwaitingItsSwitch(db: Db, store: EventStore, name: string, beforeApply: (tx: Queryable) => Promise<void>) {
  await store.appendToStream({ streamId: `${name}-1`, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
  await untilFeedHorizonPasses(db);
  const serving = recordingProjection({ name, version: 1 });
  await createProjector({ db, projections: [serving] }).runUntilCaughtUp();
  const build = recordingProjection({ name, version: 2, beforeApply });
  const generation = (await registerProjection(db, build)).find((live) => live.status === 'building');
  if (!generation) throw new Error('version 2 was not registered to be built');
  await createProjector({ db, projections: [build] }).runUntilCaughtUp({ deadline: Date.now() });
  return { serving, build, generation };
}

describe('a holder hung in its batch, its process alive', () => {
  const context = useProjectionDatabase();

  it('keeps its partition while its transaction may be at work, and loses it once the transaction sat idle past its bound', async () => {
    const { db, store, url } = context();
    const appended = await appendAcrossStreams(store, ['acc-1', 'acc-2'], 10, 5);
    await readThrough(store, START_OF_FEED, appended.checkpoint);
    // Its handler awaits a promise that never settles, as one awaiting a call with no timeout would.
    const hung = await stallingInABatch([url, 'hung', String(TTL_MS), 'hung']);
    const hungSince = Date.now();

    const failures: HandlerFailure[] = [];
    const projection = recordingProjection({ name: 'hung', batchSize: 20 });
    const survivor = createProjector({ db, projections: [projection], holder: 'survivor', leaseTtlMs: TTL_MS, onHandlerError: (failure) => failures.push(failure) });
    // Past its lease, but its batch holds the partition: a batch may outlast its lease and still commit.
    await sleep(4 * TTL_MS);
    expect((await survivor.runUntilCaughtUp()).eventsApplied).toBe(0);

    // Once PostgreSQL ends the idle transaction, the partition is taken over as from a dead holder.
    let applied = 0;
    while (applied === 0 && Date.now() - hungSince < 4 * IDLE_BOUND_MS) {
      await sleep(TTL_MS);
      applied = (await survivor.runUntilCaughtUp()).eventsApplied;
    }
    expect(applied).toBe(appended.eventIds.length);
    // The server's idle clock started at the batch's last statement, a moment before the spec heard of it.
    expect(Date.now() - hungSince).toBeGreaterThanOrEqual(IDLE_BOUND_MS - 1_000);
    expectExactlyOnceInOrder(await readApplied(db, projection), appended.eventIds);
    expect(failures.map((failure) => failure.error.message)).toEqual([expect.stringContaining('the lease of hung ran out')]);
    // The server ended the transaction, not the process, and the lost connection threw nothing in it: still
    // hung, or, with nothing left to keep it alive, ended on its unsettled top-level await (13), never an uncaught error (1).
    expect(hung.signalCode).toBeNull();
    expect([null, 13]).toContain(hung.exitCode);
  }, 90_000);
});

describe('a live handler that waits on something else past its transaction\'s idle bound', () => {
  const context = useProjectionDatabase();

  it('finds its transaction ended, and its batch is counted as failed on its partition, whether its own statement or the engine\'s came next; the other partition is applied', async () => {
    const { db, store } = context();
    const waitsStream = await streamIdInPartition(db, 0, 3);
    const lingersStream = await streamIdInPartition(db, 1, 3);
    const otherStream = await streamIdInPartition(db, 2, 3);
    const waits = await store.appendToStream<AccountEvent>({ streamId: waitsStream, streamType: 'account', expectedVersion: 'no_stream', events: [opened('waits')] });
    await store.appendToStream<AccountEvent>({ streamId: lingersStream, streamType: 'account', expectedVersion: 'no_stream', events: [opened('lingers')] });
    await store.appendToStream<AccountEvent>({ streamId: otherStream, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5)] });
    await untilFeedHorizonPasses(db);
    const told: HandlerFailure[] = [];
    const failurePolicy = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };
    const projector = createProjector({ db, projections: [waitingPastTheIdleBound], leaseTtlMs: TTL_MS, failurePolicy, onHandlerError: (failure) => told.push(failure) });

    const run = await projector.runUntilCaughtUp();

    expect(run.eventsApplied).toBe(2);
    const [status] = await getProjectionStatus(db, 'waits_outside');
    const [waitsPartition, lingersPartition, otherPartition] = status?.generations[0]?.partitions ?? [];
    expect(waitsPartition).toMatchObject({ partition: 0, attempts: 1, failedEventId: waits.events[0]?.eventId });
    expect(waitsPartition?.lastError).toContain('idle-in-transaction');
    expect(lingersPartition).toMatchObject({ partition: 1, attempts: 1, failedEventId: null });
    expect(lingersPartition?.lastError).toContain('idle-in-transaction');
    expect(told.map((failure) => [failure.partition, failure.error.message]).sort()).toEqual([
      [0, expect.stringContaining('idle-in-transaction')],
      [1, expect.stringContaining("the batch's transaction sat idle past its bound")],
    ]);
    expect(otherPartition).toMatchObject({ partition: 2, attempts: 0, lagEvents: 0 });
    const { rows } = await db.query<{ stream_id: string }>(`SELECT stream_id FROM ${quoteIdentifier(generationTableName('waits_outside', 'applied', 1))}`);
    expect(rows.map((row) => row.stream_id)).toEqual([otherStream, otherStream]);
  }, 90_000);
});

describe('a switch hung in its catch-up, its process alive', () => {
  const context = useProjectionDatabase();

  it('is ended by the server once idle past its deadline: the serving generation goes on, and the switch returns not switched', async () => {
    const { db, store } = context();
    const hanging = deferred();
    const hangs = deferred();
    const { serving, build, generation } = await buildAwaitingItsSwitch(db, store, 'hs', async () => {
      hanging.resolve();
      await hangs.promise;
    });

    // When its switch, with three seconds to go, hangs in a handler of its catch-up,
    const switching = activateIfCaughtUp(db, build, generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY, Date.now() + 3_000);
    // Raced: a switch that gave up before its catch-up reached the handler fails the spec below, not by its timeout.
    await Promise.race([hanging.promise, switching]);
    await store.appendToStream({ streamId: 'hs-1', streamType: 'account', expectedVersion: 2, events: [deposited(2)] });
    await untilFeedHorizonPasses(db);

    // then once it has sat idle past its deadline, the fence on the serving generation is gone: it applies the new event.
    const startedAt = Date.now();
    let applied = 0;
    while (applied === 0 && Date.now() - startedAt < 20_000) {
      applied = (await createProjector({ db, projections: [serving], holder: 'serving' }).runUntilCaughtUp({ deadline: Date.now() + 2_000 })).eventsApplied;
      if (applied === 0) await sleep(200);
    }
    expect(applied).toBe(1);
    expect((await readApplied(db, serving)).map((row) => row.version)).toEqual([1, 2, 3]);
    // And the switch, let go, says it did not switch; version 1 still serves.
    hangs.resolve();
    expect(await switching).toEqual({ switched: false });
    const [status] = await getProjectionStatus(db, 'hs');
    expect(status?.activeGeneration).toBe(1);
  }, 60_000);
});

describe('a switch given no deadline', () => {
  const context = useProjectionDatabase();

  it('is bounded all the same: ten minutes idle', async () => {
    const { db, store } = context();
    const bounds: string[] = [];
    const { build, generation } = await buildAwaitingItsSwitch(db, store, 'nd', async (tx) => {
      const { rows } = await tx.query<{ bound: string }>("SELECT current_setting('idle_in_transaction_session_timeout') AS bound");
      bounds.push(rows[0]?.bound ?? '');
    });

    expect(await activateIfCaughtUp(db, build, generation, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).toMatchObject({ switched: true, eventsApplied: 2 });
    expect(bounds).toEqual(['10min', '10min']);
  });
});

describe('a setup hung in its registration, its process alive', () => {
  const context = useProjectionDatabase();

  it('is ended by the server once idle past its bound: the registration fails, and another instance registers and builds the projection', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, ['acc-1', 'acc-2'], 3, 3);
    await untilFeedHorizonPasses(db);
    const bounds: string[] = [];
    const hanging = deferred();
    const hangs = deferred();
    const recording = recordingProjection({ name: 'hung_setup' });
    // The same projection, whose setup awaits a promise that never settles, as one awaiting a call with no timeout would.
    const hungInSetup = recordingProjection({
      name: 'hung_setup',
      beforeSetup: async (tx) => {
        const { rows } = await tx.query<{ bound: string }>("SELECT current_setting('idle_in_transaction_session_timeout') AS bound");
        bounds.push(rows[0]?.bound ?? '');
        hanging.resolve();
        await hangs.promise;
      },
    });

    // When one instance's registration hangs in its setup, under the projection's lock, its generation's row written,
    const hungRun = createProjector({ db, projections: [hungInSetup], holder: 'hung', leaseTtlMs: TTL_MS }).runUntilCaughtUp();
    const hungOutcome = hungRun.then(() => 'caught up', (error: unknown) => error);
    await Promise.race([hanging.promise, hungOutcome]);
    const hungSince = Date.now();

    // then another instance waits for the lock only until the server ends the idle registration, and builds it.
    const run = await createProjector({ db, projections: [recording], holder: 'survivor', leaseTtlMs: TTL_MS }).runUntilCaughtUp();
    expect(run.eventsApplied).toBe(appended.eventIds.length);
    expect(Date.now() - hungSince).toBeGreaterThanOrEqual(IDLE_BOUND_MS - 1_000);
    expectExactlyOnceInOrder(await readApplied(db, recording), appended.eventIds);
    expect(bounds).toEqual(['10s']);
    // The hung setup, let go, finds its registration rolled back: it fails, and makes no generation of its own.
    hangs.resolve();
    const failed = await hungOutcome;
    expect(failed).toBeInstanceOf(ProjectorRunError);
    expect((failed as ProjectorRunError).errors).toEqual([expect.any(ConnectionLostError)]);
    const [status] = await getProjectionStatus(db, 'hung_setup');
    expect(status?.generations.map((generation) => generation.generation)).toEqual([1]);
  }, 60_000);
});

describe('a registration or rebuild called on its own', () => {
  const context = useProjectionDatabase();

  it('is bounded while idle as a batch is with no lease given, 10 s (options without a bound too), or by the bound it is given', async () => {
    const { db } = context();
    const bounds: string[] = [];
    const readBound = async (tx: Queryable) => {
      const { rows } = await tx.query<{ bound: string }>("SELECT current_setting('idle_in_transaction_session_timeout') AS bound");
      bounds.push(rows[0]?.bound ?? '');
    };
    const first = recordingProjection({ name: 'own_bound_1', beforeSetup: readBound });
    const second = recordingProjection({ name: 'own_bound_2', beforeSetup: readBound });
    const third = recordingProjection({ name: 'own_bound_3', beforeSetup: readBound });

    await registerProjection(db, first);
    await rebuildProjection(db, first, { idleTimeoutMs: 90_000 });
    await registerProjection(db, second, { idleTimeoutMs: 30_000 });
    await rebuildProjection(db, second);
    await registerProjection(db, third, {});

    expect(bounds).toEqual(['10s', '90s', '30s', '10s', '10s']);
  });
});
