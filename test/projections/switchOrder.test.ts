import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type NewEvent } from '../../core/eventstore';
import { acquirePartitionLease, DEFAULT_FAILURE_POLICY, renewPartitionLease } from '../../core/processing';
import { activateIfCaughtUp, createProjector, generationTableName, getProjectionStatus, processorNameOf, quoteIdentifier, registerProjection, type Projector } from '../../core/projections';
import { deferred, deposited, opened, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { useProjectionDatabase } from './support/projectionDatabase';
import { recordingProjection } from './support/recordingProjection';

// Long enough for a batch of the serving generation to run and commit, were it let through.
const SERVING_BATCH_CHANCE_MS = 1_000;

/** Given a new account stream of these events, and version 1 of `name` serving them: the stored events' ids. */
async function servingVersionOne(db: Db, name: string, events: NewEvent<AccountEvent>[]): Promise<string[]> {
  const appended = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events });
  await untilFeedHorizonPasses(db);
  await createProjector({ db, projections: [recordingProjection({ name, version: 1 })] }).runUntilCaughtUp();
  return appended.events.map((event) => event.eventId);
}

/**
 * Given version 1 of `name` serving (after `firstRun` of its projector), a deposit whose transaction starts
 * before the switch to version 2 and commits while it runs, and the serving projector running again right then:
 * the events the retired generation served that the new one lacks once the switch is done.
 */
async function servedButLostBySwitch(db: Db, connect: (max: number) => Db, name: string, firstRun: (projector: Projector) => Promise<unknown>): Promise<string[]> {
  const store = createEventStore(db);
  const streamId = uniqueStreamId();
  await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db);
  // The serving generation's projector, registered before the switch as a running instance is.
  const servingProjector = createProjector({ db: connect(2), projections: [recordingProjection({ name, version: 1 })] });
  await firstRun(servingProjector);

  const writerDb = connect(1);
  const depositWritten = deferred();
  const commitDeposit = deferred();
  const depositing = writerDb.transaction(async (tx) => {
    await createEventStore(writerDb).appendToStream({ streamId, streamType: 'account', expectedVersion: 1, events: [deposited(5)] }, tx);
    depositWritten.resolve();
    await commitDeposit.promise;
  });

  // The new version's handler runs inside the switch: there the deposit commits, and the serving generation gets its chance.
  let servingRun: Promise<unknown> | undefined;
  let hooked = false;
  const v2Base = recordingProjection({ name, version: 2 });
  const v2 = {
    ...v2Base,
    apply: async (...args: Parameters<typeof v2Base.apply>) => {
      if (!hooked) {
        hooked = true;
        commitDeposit.resolve();
        await depositing;
        servingRun = servingProjector.runUntilCaughtUp({ deadline: Date.now() + 10_000 });
        await Promise.race([servingRun, sleep(SERVING_BATCH_CHANCE_MS)]);
      }
      return v2Base.apply(...args);
    },
  };
  try {
    await depositWritten.promise;
    const [building] = await registerProjection(db, v2);
    if (!building) throw new Error('v2 has no build');
    expect(await activateIfCaughtUp(db, v2, building, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).toMatchObject({ switched: true });
  } finally {
    // Also when the switch failed before its handler ran: a transaction left open would hold back every test file's feed.
    commitDeposit.resolve();
    await depositing;
  }
  await servingRun;

  const applied = async (generation: number) => {
    const table = quoteIdentifier(generationTableName(name, 'applied', generation));
    const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM ${table}`);
    return rows.map((row) => row.event_id);
  };
  const serving = new Set(await applied(2));
  return (await applied(1)).filter((eventId) => !serving.has(eventId));
}

describe('switching reads to a new generation', () => {
  const context = useProjectionDatabase();

  it('holds the serving generation’s batches until the switch commits: reads never lose what they showed', async () => {
    const { db, connect } = context();
    const lost = await servedButLostBySwitch(db, connect, 'switching', (projector) => projector.runUntilCaughtUp());
    expect(lost).toEqual([]);
  });

  it('holds back the first batch of a serving generation that never took a lease, until the switch commits', async () => {
    const { db, connect } = context();
    // Its first run's deadline passed right after it registered (a Lambda out of time): no lease rows yet.
    const lost = await servedButLostBySwitch(db, connect, 'never_leased', async (projector) => {
      await projector.runUntilCaughtUp({ deadline: Date.now() - 1 });
      const { rows } = await db.query('SELECT 1 FROM partition_leases WHERE lease_group = $1', [processorNameOf('never_leased', 1)]);
      expect(rows).toEqual([]);
    });
    expect(lost).toEqual([]);
  });

  it('leaves the serving generation’s holders their leases when it gives up on a build too far behind', async () => {
    const { db } = context();
    const store = createEventStore(db);
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), ...Array.from({ length: 15 }, () => deposited(1))] });
    await untilFeedHorizonPasses(db);
    const v1 = recordingProjection({ name: 'giving_up', version: 1 });
    await createProjector({ db, projections: [v1] }).runUntilCaughtUp();
    const serving = await acquirePartitionLease(db, { group: processorNameOf('giving_up', 1), partitions: 1, holder: 'serving', ttlMs: 60_000 });
    if (!serving) throw new Error('the serving generation’s partition is held');

    // Sixteen events behind in batches of one: more than a switch catches up.
    const v2 = recordingProjection({ name: 'giving_up', version: 2, batchSize: 1 });
    const [building] = await registerProjection(db, v2);
    if (!building) throw new Error('v2 has no build');
    expect(await activateIfCaughtUp(db, v2, building, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).toEqual({ switched: false });

    expect(await renewPartitionLease(db, serving, 60_000)).not.toBeNull();
  });

  it('leaves a build’s failing batch to its failure policy: the switch neither runs it again nor goes ahead', async () => {
    const { db } = context();
    const [, poison] = await servingVersionOne(db, 'switch_after_failure', [opened(), deposited(5)]);

    // Version 2 fails on the deposit: its build waits out a long backoff there.
    let attemptsOnPoison = 0;
    const broken = recordingProjection({
      name: 'switch_after_failure',
      version: 2,
      failOn: (event) => {
        if (event.eventId !== poison) return false;
        attemptsOnPoison += 1;
        return true;
      },
    });
    const longBackoff = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };
    await createProjector({ db, projections: [broken], failurePolicy: longBackoff }).runUntilCaughtUp();
    expect(attemptsOnPoison).toBe(1);

    const [building] = await registerProjection(db, broken);
    if (!building) throw new Error('v2 has no build');
    expect(await activateIfCaughtUp(db, broken, building, NO_UPCASTING, longBackoff)).toEqual({ switched: false });

    expect(attemptsOnPoison, 'the failed batch waits out its backoff').toBe(1);
    const [status] = await getProjectionStatus(db, 'switch_after_failure');
    expect(status?.activeGeneration).toBe(1);
    const build = status?.generations.find((generation) => generation.generation === 2);
    expect(build?.partitions[0]).toMatchObject({ attempts: 1, failedEventId: poison });
  });
  it('counts a retired generation’s time from the end of a slow switch, when readers can first see it retired', async () => {
    const { db } = context();
    await servingVersionOne(db, 'slow_switch', [opened()]);

    // The switch applies the build's first batch itself, and that batch is slow.
    let slowBatchEnded: Date | undefined;
    const v2 = recordingProjection({
      name: 'slow_switch',
      version: 2,
      beforeApply: async (tx) => {
        if (slowBatchEnded) return;
        const { rows } = await tx.query<{ ended: Date }>('SELECT pg_sleep(1.5), clock_timestamp() AS ended');
        slowBatchEnded = rows[0]?.ended;
      },
    });
    const [building] = await registerProjection(db, v2);
    if (!building) throw new Error('v2 has no build');
    expect(await activateIfCaughtUp(db, v2, building, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).toMatchObject({ switched: true });

    const { rows } = await db.query<{ retired_at: Date }>('SELECT retired_at FROM projection_generations WHERE name = $1 AND generation = 1', ['slow_switch']);
    expect(slowBatchEnded).toBeInstanceOf(Date);
    // Its tables are kept RETIRED_TABLES_KEPT_MS from then: not from the switch's start, which readers never saw.
    expect(rows[0]?.retired_at.getTime()).toBeGreaterThanOrEqual(slowBatchEnded?.getTime() ?? Number.POSITIVE_INFINITY);
  });
  it('switches a build that caught up only past its run’s deadline in the next run, not in that one', async () => {
    const { db } = context();
    await servingVersionOne(db, 'late_catch_up', [opened()]);

    let deadline = Number.POSITIVE_INFINITY;
    const v2 = recordingProjection({
      name: 'late_catch_up',
      version: 2,
      // The build's one batch starts before the deadline and ends after it.
      beforeApply: () => sleep(Math.max(0, deadline - Date.now() + 100)),
    });
    const projector = createProjector({ db, projections: [v2] });
    deadline = Date.now() + 1_500;
    const late = await projector.runUntilCaughtUp({ deadline });
    deadline = Number.POSITIVE_INFINITY;

    expect(late.eventsApplied).toBeGreaterThan(0);
    expect(late.activated).toEqual([]);
    expect((await projector.runUntilCaughtUp()).activated).toEqual([{ name: 'late_catch_up', generation: 2 }]);
  });

  it('gives a switch up, rolled back, rather than start a catch-up batch at or after its deadline', async () => {
    const { db } = context();
    await servingVersionOne(db, 'switch_deadline', [opened(), ...Array.from({ length: 4 }, () => deposited(1))]);

    // Five batches of 600 ms to catch up, and a deadline half-way through the third: a batch is
    // recorded after its page read, so the deadline stays well clear of any batch's start on a loaded runner.
    const batchStarts: number[] = [];
    const v2 = recordingProjection({
      name: 'switch_deadline',
      version: 2,
      batchSize: 1,
      beforeApply: async () => {
        batchStarts.push(Date.now());
        await sleep(600);
      },
    });
    const [building] = await registerProjection(db, v2);
    if (!building) throw new Error('v2 has no build');
    const deadline = Date.now() + 1_500;

    expect(await activateIfCaughtUp(db, v2, building, NO_UPCASTING, DEFAULT_FAILURE_POLICY, deadline)).toEqual({ switched: false });

    expect(batchStarts.length).toBeGreaterThan(0);
    expect(batchStarts.filter((at) => at >= deadline)).toEqual([]);
    const [status] = await getProjectionStatus(db, 'switch_deadline');
    expect(status?.activeGeneration).toBe(1);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdentifier(generationTableName('switch_deadline', 'applied', 2))}`);
    expect(rows[0]?.n, 'the switch’s batches rolled back with it').toBe(0);
  });
});
