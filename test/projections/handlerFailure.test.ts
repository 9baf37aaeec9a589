import { describe, expect, it } from 'vitest';
import { START_OF_FEED } from '../../core/eventstore';
import type { AccountEvent } from '../../core/bank';
import type { RecordedEvent } from '../../core/eventstore';
import { createProjector, createProjectionReader, defineProjection, getProjectionStatus, processorNameOf, ProjectionNotFoundError, resumeProjection } from '../../core/projections';
import { BatchItemError, ProcessorDefinitionError } from '../../core/processing';
import { defineUpcasters } from '../../core/upcasting';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { sleep } from '../support/fixtures';
import { readThrough } from '../support/followFeed';
import { useProjectionDatabase } from './support/projectionDatabase';
import { runUntilNoLag } from './support/runUntilNoLag';
import { appendAcrossStreams, expectExactlyOnceInOrder, readApplied, recordingProjection } from './support/recordingProjection';

const fastRetries = { maxAttempts: 3, baseDelayMs: 30, maxDelayMs: 100 };
// Long enough that a run is still within it however slow the runner; the spec ends it by SQL.
const longBackoff = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };

describe('a handler that fails at event k', () => {
  const context = useProjectionDatabase();

  it('stops its partition there, records the event and error, and a restarted projector applies the rest exactly once', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, ['acc-a', 'acc-b', 'acc-c'], 40, 5);
    const feed = (await readThrough(store, START_OF_FEED, appended.checkpoint)).events;
    const poison = feed[57]?.eventId;
    const broken = recordingProjection({ name: 'failing_once', batchSize: 25, failOn: (event) => event.eventId === poison });
    const first = createProjector({ db, projections: [broken], failurePolicy: longBackoff });

    const run = await first.runUntilCaughtUp();
    // Two whole batches before the poisoned one; the batch holding event 57 left nothing behind.
    expect(run.eventsApplied).toBe(50);
    const [status] = await getProjectionStatus(db, 'failing_once');
    const partition = status?.generations[0]?.partitions[0];
    expect(partition).toMatchObject({ state: 'rebuilding', attempts: 1, failedEventId: poison, lagEvents: feed.length - 50 });
    expect(partition?.lastError).toContain(`refusing ${poison ?? ''}`);
    expect(partition?.nextAttemptAt).toBeInstanceOf(Date);
    // Within the backoff, another run leaves the partition alone: no second attempt, the same next one.
    expect((await first.runUntilCaughtUp()).eventsApplied).toBe(0);
    const [within] = await getProjectionStatus(db, 'failing_once');
    expect(within?.generations[0]?.partitions[0]).toMatchObject({ attempts: 1, nextAttemptAt: partition?.nextAttemptAt });

    // The handler is fixed and the projector restarted: it resumes from the stored checkpoint once the backoff is over.
    await db.query('UPDATE processor_partitions SET next_attempt_at = now() WHERE processor = $1', [processorNameOf('failing_once', 1)]);
    const fixed = recordingProjection({ name: 'failing_once', batchSize: 25 });
    await runUntilNoLag(db, createProjector({ db, projections: [fixed] }));
    expectExactlyOnceInOrder(await readApplied(db, fixed), appended.eventIds);
    const [after] = await getProjectionStatus(db, 'failing_once');
    expect(after?.generations[0]?.partitions[0]).toMatchObject({ state: 'running', attempts: 0, lastError: null, lagEvents: 0 });
  });
});

describe('a synchronous handler that throws at event k', () => {
  const context = useProjectionDatabase();

  it('stops its partition there as an async one does, and its batch leaves nothing behind', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, ['sync-a', 'sync-b'], 20, 5);
    const feed = (await readThrough(store, START_OF_FEED, appended.checkpoint)).events;
    const poison = feed[23]?.eventId;
    // Folds ids into its batch with no promise, and writes them once per batch.
    const fold = (event: RecordedEvent, { batch }: { batch: string[] }) => {
      if (event.eventId === poison) throw new Error(`refusing ${event.eventId}`);
      batch.push(event.eventId);
    };
    const folding = defineProjection<AccountEvent>()({
      name: 'folding_sync',
      version: 1,
      batchSize: 10,
      tables: ['seen'],
      setup: async (tx, { seen }) => {
        await tx.query(`CREATE TABLE ${seen} (seq bigserial PRIMARY KEY, event_id uuid NOT NULL)`);
      },
      startBatch: (): string[] => [],
      handlers: { AccountOpened: fold, MoneyDeposited: fold, MoneyWithdrawn: fold },
      flush: async ({ tx, tables, batch }) => {
        await tx.query(`INSERT INTO ${tables.seen} (event_id) SELECT unnest($1::uuid[])`, [batch]);
      },
    });

    const run = await createProjector({ db, projections: [folding], failurePolicy: fastRetries }).runUntilCaughtUp();
    expect(run.eventsApplied).toBe(20);
    const [status] = await getProjectionStatus(db, 'folding_sync');
    const partition = status?.generations[0]?.partitions[0];
    expect(partition).toMatchObject({ state: 'rebuilding', attempts: 1, failedEventId: poison });
    expect(partition?.lastError).toContain(`refusing ${poison ?? ''}`);
    const tables = await createProjectionReader(db, folding, { cacheMs: 0 }).tables();
    if (!tables) throw new Error('folding_sync has no generation to read');
    const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM ${tables.seen} ORDER BY seq`);
    expect(rows.map((row) => row.event_id)).toEqual(feed.slice(0, 20).map((event) => event.eventId));
  });
});

describe('a handler that keeps failing', () => {
  const context = useProjectionDatabase();

  it('marks its partition failed after the configured attempts, stopping only that partition, until resumed', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, Array.from({ length: 12 }, (_, index) => `stream-${index}`), 6, 6);
    // Every event in the runs' reach, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(db);
    const poison = appended.eventIds[20];
    const broken = recordingProjection({ name: 'failing_always', partitions: 4, failOn: (event) => event.eventId === poison });
    const projector = createProjector({ db, projections: [broken], failurePolicy: fastRetries });

    // Runs until the partition gives up; on a loaded machine a run may land inside a backoff and retry nothing.
    const partitionsNow = async () => (await getProjectionStatus(db, 'failing_always'))[0]?.generations[0]?.partitions ?? [];
    for (let run = 0; run < fastRetries.maxAttempts * 10; run += 1) {
      await projector.runUntilCaughtUp();
      if ((await partitionsNow()).some((partition) => partition.state === 'failed')) break;
      await sleep(fastRetries.maxDelayMs + 20);
    }
    const partitions = await partitionsNow();
    const failed = partitions.filter((partition) => partition.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempts: fastRetries.maxAttempts, failedEventId: poison, nextAttemptAt: null });
    expect(failed[0]?.lagEvents).toBeGreaterThan(0);
    // The other partitions went on to the end of the feed.
    expect(partitions.filter((partition) => partition.state !== 'failed').map((partition) => partition.lagEvents)).toEqual([0, 0, 0]);
    expect((await readApplied(db, broken)).map((row) => row.event_id)).not.toContain(poison);
    // A failed partition is not retried by later runs.
    expect((await projector.runUntilCaughtUp()).eventsApplied).toBe(0);

    const fixed = recordingProjection({ name: 'failing_always', partitions: 4 });
    expect(await resumeProjection(db, 'failing_always')).toEqual([{ generation: 1, partition: failed[0]?.partition }]);
    await runUntilNoLag(db, createProjector({ db, projections: [fixed] }));
    expectExactlyOnceInOrder(await readApplied(db, fixed), appended.eventIds);
  });

  it('resuming a name never registered is refused as not found, not taken for nothing to resume', async () => {
    const { db } = context();
    await expect(resumeProjection(db, 'failing_typo')).rejects.toBeInstanceOf(ProjectionNotFoundError);
  });

  it('resuming, or asking the status of, a name no projection could have (a NUL) is answered as for an unknown name, not with the database\'s error', async () => {
    const { db } = context();
    await expect(resumeProjection(db, 'failing\u0000typo')).rejects.toBeInstanceOf(ProjectionNotFoundError);
    expect(await getProjectionStatus(db, 'failing\u0000typo')).toEqual([]);
  });
});

describe('a handler whose error says more than usual', () => {
  const context = useProjectionDatabase();
  const runUntilSettled = async (db: Parameters<typeof getProjectionStatus>[0], projector: ReturnType<typeof createProjector>, name: string, runs: number) => {
    for (let run = 0; run < runs; run += 1) {
      await projector.runUntilCaughtUp();
      if ((await getProjectionStatus(db, name))[0]?.generations[0]?.partitions[0]?.state === 'failed') return;
      await sleep(fastRetries.maxDelayMs + 20);
    }
  };

  it('with a NUL in its text (a binary body quoted, say) is counted like any other, and its partition fails after the attempts', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, ['acc-nul'], 3, 3);
    // Every event in the runs' reach, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(db);
    const poison = appended.eventIds[1];
    const broken = recordingProjection({ name: 'nul_in_error', failOn: (event) => event.eventId === poison, failWith: () => new Error('upstream said \u0000\u0001') });
    const projector = createProjector({ db, projections: [broken], failurePolicy: fastRetries });

    await runUntilSettled(db, projector, 'nul_in_error', fastRetries.maxAttempts * 10);

    const [status] = await getProjectionStatus(db, 'nul_in_error');
    const partition = status?.generations[0]?.partitions[0];
    expect(partition).toMatchObject({ state: 'failed', attempts: fastRetries.maxAttempts, failedEventId: poison });
    expect(partition?.lastError).toContain('upstream said \uFFFD\u0001');
  });

  it('as a BatchItemError asking to be retried until it passes is retried past the policy’s attempts, never failed', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, ['acc-later'], 2, 2);
    // Every event in the runs' reach, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(db);
    const waiting = appended.eventIds[0];
    const broken = recordingProjection({
      name: 'waits_for_reference_data',
      failOn: (event) => event.eventId === waiting,
      failWith: (event) => new BatchItemError('reference data not loaded yet', event.eventId, new Error('not yet'), 'until_it_passes'),
    });
    const projector = createProjector({ db, projections: [broken], failurePolicy: fastRetries });

    await runUntilSettled(db, projector, 'waits_for_reference_data', fastRetries.maxAttempts + 2);

    const [status] = await getProjectionStatus(db, 'waits_for_reference_data');
    const partition = status?.generations[0]?.partitions[0];
    expect(partition?.state).toBe('rebuilding');
    expect(partition?.attempts).toBeGreaterThan(fastRetries.maxAttempts);
  });

  it('cannot be counted under a policy of 2.5 attempts: the projector refuses such a policy when it is made', () => {
    const { db } = context();
    expect(() => createProjector({ db, projections: [recordingProjection({ name: 'odd_policy' })], failurePolicy: { maxAttempts: 2.5, baseDelayMs: 10, maxDelayMs: 20 } })).toThrow(
      new ProcessorDefinitionError('the projector: failurePolicy.maxAttempts must be a whole number of at least 1, or Infinity, not 2.5'),
    );
  });

  it('cannot run under a holder that is empty or holds a NUL, or to a deadline that is no time: refused before the projection is registered', async () => {
    const { db } = context();
    for (const holder of ['', 'projector\u0000']) {
      expect(() => createProjector({ db, projections: [recordingProjection({ name: 'bad_holder' })], holder }), JSON.stringify(holder)).toThrow(ProcessorDefinitionError);
    }
    const projector = createProjector({ db, projections: [recordingProjection({ name: 'bad_deadline' })] });
    await expect(projector.runUntilCaughtUp({ deadline: Number.NaN })).rejects.toThrow(ProcessorDefinitionError);
    const { rows } = await db.query("SELECT name FROM projection_generations WHERE name IN ('bad_holder', 'bad_deadline')");
    expect(rows).toEqual([]);
  });
});

describe('a handler that has failed for a day under a policy that never gives up', () => {
  const context = useProjectionDatabase();

  it('records its next failure and waits the maximum delay, however many attempts came before', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, ['stuck-a'], 5, 5);
    const poison = appended.eventIds[2];
    await untilFeedHorizonPasses(db);
    const neverGivesUp = { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 1_000, maxDelayMs: 60_000 };
    const broken = recordingProjection({ name: 'failing_for_a_day', failOn: (event) => event.eventId === poison });
    const projector = createProjector({ db, projections: [broken], failurePolicy: neverGivesUp });
    await projector.runUntilCaughtUp();
    // A thousand and some attempts, as a day of retries at the maximum delay makes: the doubling passed float8's range.
    await db.query("UPDATE processor_partitions SET attempts = 1100, policy_attempts = 1100, next_attempt_at = NULL WHERE processor LIKE '%failing_for_a_day%'");

    const before = Date.now();
    await projector.runUntilCaughtUp();
    const [status] = await getProjectionStatus(db, 'failing_for_a_day');
    const partition = status?.generations[0]?.partitions[0];
    expect(partition).toMatchObject({ attempts: 1101, failedEventId: poison });
    expect(partition?.state).not.toBe('failed');
    const waitMs = (partition?.nextAttemptAt?.getTime() ?? 0) - before;
    expect(waitMs).toBeGreaterThan(neverGivesUp.maxDelayMs - 5_000);
    expect(waitMs).toBeLessThanOrEqual(neverGivesUp.maxDelayMs + 5_000);
  });
});

describe('an event the projection cannot read: stored by newer code, at a schema version this code has no path from', () => {
  const context = useProjectionDatabase();

  it('holds its partition there, recorded with the event, never given up on; the run goes on to the next projection, and newer code goes on from there', async () => {
    const { db, store } = context();
    const streamId = 'newer-code';
    const appended = await store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [
        { type: 'AccountOpened', data: { owner: 'ada', currency: 'EUR' } },
        { type: 'MoneyDeposited', data: { amount: 5 } },
        { type: 'MoneyDeposited', data: { amount: 7 }, schemaVersion: 2 },
        { type: 'MoneyDeposited', data: { amount: 9 } },
      ],
    });
    const unreadable = appended.events[2]?.eventId;
    // The run below is asserted on at once: its events must be readable by then.
    await untilFeedHorizonPasses(db);
    const reading = recordingProjection({ name: 'reading_newer', batchSize: 2 });
    const other = defineProjection<AccountEvent>()({
      name: 'counting_opened',
      version: 1,
      tables: ['opened'],
      setup: async (tx, { opened }) => {
        await tx.query(`CREATE TABLE ${opened} (stream_id text PRIMARY KEY)`);
      },
      handlers: {
        AccountOpened: async (event, { tx, tables }) => {
          await tx.query(`INSERT INTO ${tables.opened} (stream_id) VALUES ($1)`, [event.streamId]);
        },
      },
    });
    // This code knows MoneyDeposited at version 1 only.
    const projector = createProjector({ db, projections: [reading, other], upcaster: defineUpcasters([]), failurePolicy: fastRetries });

    const run = await projector.runUntilCaughtUp();
    // The first page of two went in; the page holding the unreadable event left nothing behind.
    expect((await readApplied(db, reading)).map((row) => row.event_id)).toEqual(appended.events.slice(0, 2).map((event) => event.eventId));
    const [status] = await getProjectionStatus(db, 'reading_newer');
    const partition = status?.generations[0]?.partitions[0];
    expect(partition).toMatchObject({ state: 'rebuilding', attempts: 1, failedEventId: unreadable });
    expect(partition?.lastError).toMatch(/UpcastError: .*schema version 2/);
    // The next projection of the same run was not held back.
    const tables = await createProjectionReader(db, other, { cacheMs: 0 }).tables();
    if (!tables) throw new Error('counting_opened has no generation to read');
    expect((await db.query<{ stream_id: string }>(`SELECT stream_id FROM ${tables.opened}`)).rows).toEqual([{ stream_id: streamId }]);
    expect(run.eventsApplied).toBe(3);

    // A deploy rolling out: the old code retries past its policy's attempts, and never marks the partition failed.
    for (let attempt = 1; attempt <= fastRetries.maxAttempts + 1; attempt++) {
      await sleep(fastRetries.maxDelayMs + 20);
      await projector.runUntilCaughtUp();
    }
    const [waiting] = await getProjectionStatus(db, 'reading_newer');
    expect(waiting?.generations[0]?.partitions[0]?.attempts).toBeGreaterThan(fastRetries.maxAttempts);
    expect(waiting?.generations[0]?.partitions[0]?.state).toBe('rebuilding');

    // The newer code knows version 2; once the backoff is over, it goes on from the stored checkpoint.
    const newer = defineUpcasters([{ fromType: 'MoneyDeposited', fromVersion: 1, toType: 'MoneyDeposited', toVersion: 2, transform: (data) => data }]);
    await sleep(fastRetries.maxDelayMs + 20);
    await runUntilNoLag(db, createProjector({ db, projections: [reading], upcaster: newer }));
    expectExactlyOnceInOrder(await readApplied(db, reading), appended.events.map((event) => event.eventId));
  });
});

describe.each([
  ['a deadlock', '40P01'],
  ['a serialization failure', '40001'],
])('a handler whose statement PostgreSQL ends as %s', (_case, code) => {
  const context = useProjectionDatabase();

  it('is retried until it passes, however few attempts the policy allows, and never marks its partition failed', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, [`conflicted-${code}`], 3, 3);
    await untilFeedHorizonPasses(db);
    let conflictsLeft = 3;
    // A real error of PostgreSQL's with that SQLSTATE, as a conflicting writer would cause it.
    const conflicting = recordingProjection({
      name: `conflicted_${code.toLowerCase()}`,
      beforeApply: async (tx) => {
        if (conflictsLeft === 0) return;
        conflictsLeft -= 1;
        await tx.query(`DO $$ BEGIN RAISE EXCEPTION 'a conflict with another writer' USING ERRCODE = '${code}'; END $$`);
      },
    });
    const projector = createProjector({ db, projections: [conflicting], failurePolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20 } });

    await runUntilNoLag(db, projector, conflicting.name, 10_000);

    expect(conflictsLeft).toBe(0);
    expectExactlyOnceInOrder(await readApplied(db, conflicting), appended.eventIds);
    const [status] = await getProjectionStatus(db, conflicting.name);
    expect(status?.generations[0]?.partitions[0]).toMatchObject({ state: 'running', attempts: 0, lastError: null });
  });
});
