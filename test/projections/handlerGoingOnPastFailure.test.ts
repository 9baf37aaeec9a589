import { describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../core/db';
import { asDatabaseError } from '../../core/db';
import { BatchItemError, type HandlerFailure } from '../../core/processing';
import { createProjector, defineProjection, generationTableName, getProjectionStatus, ProjectionHandlerError, quoteIdentifier, type Projection } from '../../core/projections';
import { deferred, deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { pausingAtTheSwitch } from './support/pausingAtTheSwitch';
import { useProjectionDatabase } from './support/projectionDatabase';
import { appendAcrossStreams } from './support/recordingProjection';

const context = useProjectionDatabase();
const longBackoff = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };

/**
 * A projection whose handler catches its statement's failure and goes on, as
 * handlers ignoring a duplicate key often do: for the events `failsOn` picks,
 * the statement is one PostgreSQL refuses.
 */
function goingOnPastFailures(name: string, options: { version?: number; partitions?: number; failsOn: (streamId: string, version: number) => boolean }): Projection<'seen'> {
  const record = async (event: { eventId: string; streamId: string; version: number }, tx: Queryable, table: string) => {
    const fails = options.failsOn(event.streamId, event.version);
    try {
      await tx.query(`INSERT INTO ${table} (event_id, stream_id, version) VALUES ($1, $2, ${fails ? "'not a number'" : '$3'})`, [
        event.eventId,
        event.streamId,
        ...(fails ? [] : [event.version]),
      ]);
    } catch {
      // Ignored, as a handler ignoring a duplicate would.
    }
  };
  return defineProjection<AccountEvent>()({
    name,
    version: options.version ?? 1,
    partitions: options.partitions ?? 1,
    tables: ['seen'],
    setup: async (tx, { seen }) => {
      await tx.query(`CREATE TABLE ${seen} (seq bigserial PRIMARY KEY, event_id uuid NOT NULL, stream_id text NOT NULL, version integer NOT NULL)`);
    },
    handlers: {
      AccountOpened: (event, { tx, tables }) => record(event, tx, tables.seen),
      MoneyDeposited: (event, { tx, tables }) => record(event, tx, tables.seen),
    },
  });
}

async function partitionsOf(db: Db, name: string) {
  const [status] = await getProjectionStatus(db, name);
  return status?.generations[0]?.partitions ?? [];
}

describe('a handler that catches its failed statement and goes on', () => {
  it.each([
    ['the last of its batch', 1],
    ['followed in its batch by its stream\'s next event', 2],
  ])('given the failing event is %s, holds back only its partition, counting the failure on it', async (_case, eventsOfTheStream) => {
    const { db, store } = context();
    const name = `going_on_${eventsOfTheStream}`;
    const others = Array.from({ length: 12 }, (_, index) => `${name}-${index}`);
    await appendAcrossStreams(store, others, 2, 2);
    const failing = `${name}-failing`;
    // Appended last: its events end their partition's batch.
    await appendAcrossStreams(store, [failing], eventsOfTheStream, eventsOfTheStream);
    await untilFeedHorizonPasses(db);
    const projection = goingOnPastFailures(name, { partitions: 4, failsOn: (streamId, version) => streamId === failing && version === 1 });

    const run = await createProjector({ db, projections: [projection], failurePolicy: longBackoff }).runUntilCaughtUp();

    const partitions = await partitionsOf(db, name);
    const held = partitions.filter((partition) => partition.lagEvents > 0);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ attempts: 1, failedEventId: null });
    expect(held[0]?.lastError).toContain('run it in a savepoint');
    // Every other stream's events were applied: a run on the same instance is not stuck behind the failing partition.
    const table = quoteIdentifier(generationTableName(name, 'seen', 1));
    const { rows } = await db.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM ${table}`);
    const partitionOfFailing = held[0]?.partition;
    const appliedOthers = partitions.filter((partition) => partition.partition !== partitionOfFailing).reduce((sum, partition) => sum + partition.eventsApplied, 0);
    expect(run.eventsApplied).toBe(appliedOthers);
    expect(rows.map((row) => row.stream_id)).not.toContain(failing);
  });
});

/** One row per stream: a stream's second event is a duplicate key, which the handler ignores, and what `onOther` makes of any other failure it throws. */
function ignoringDuplicates(name: string, onOther: (event: { eventId: string }, error: unknown) => unknown): Projection<'streams'> {
  const record = async (event: { eventId: string; streamId: string }, tx: Queryable, table: string) => {
    try {
      await tx.query(`INSERT INTO ${table} (stream_id) VALUES ($1)`, [event.streamId]);
    } catch (error) {
      if (asDatabaseError(error)?.code === '23505') return;
      throw onOther(event, error);
    }
  };
  return defineProjection<AccountEvent>()({
    name,
    version: 1,
    tables: ['streams'],
    setup: async (tx, { streams }) => {
      await tx.query(`CREATE TABLE ${streams} (stream_id text PRIMARY KEY)`);
    },
    handlers: {
      AccountOpened: (event, { tx, tables }) => record(event, tx, tables.streams),
      MoneyDeposited: (event, { tx, tables }) => record(event, tx, tables.streams),
    },
  });
}

describe('a handler that ignores a duplicate key and throws the refusal of its next statement', () => {
  it.each([
    ['as it is', 'rethrown', (_event: { eventId: string }, error: unknown) => error],
    ['wrapped in a BatchItemError asking to be retried until it passes', 'wrapped', (event: { eventId: string }, error: unknown) => new BatchItemError('insert failed', event.eventId, error, 'until_it_passes')],
  ])('%s: is counted with no event id under the failure policy, and told as a ProjectionHandlerError', async (_case, key, onOther) => {
    const { db, store } = context();
    const name = `ignoring_duplicates_${key}`;
    await appendAcrossStreams(store, [name.replaceAll('_', '-')], 3, 3);
    await untilFeedHorizonPasses(db);
    const told: HandlerFailure[] = [];
    const projector = createProjector({ db, projections: [ignoringDuplicates(name, onOther)], failurePolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }, onHandlerError: (failure) => told.push(failure) });

    await projector.runUntilCaughtUp();

    const [partition] = await partitionsOf(db, name);
    // The one attempt the policy allows fails the partition: a retry choice made on the refusal does not stand.
    expect(partition).toMatchObject({ state: 'failed', attempts: 1, failedEventId: null });
    expect(partition?.lastError).toContain('run it in a savepoint');
    expect(told.map((failure) => failure.error)).toEqual([expect.any(ProjectionHandlerError)]);
    expect(told[0]?.error).toMatchObject({ projection: name, eventId: null });
  });
});

describe("a build's switch applying an event its handler goes on past a failure on", () => {
  it('is not made: the run ends without an error, the old generation still serves, and the build\'s next batch counts the failure', async () => {
    const { db, store, connect } = context();
    const streamId = uniqueStreamId('switching');
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const failsOn = (failing: string, version: number) => failing === streamId && version === 2;
    await createProjector({ db, projections: [goingOnPastFailures('switch_going_on', { failsOn })] }).runUntilCaughtUp();
    // A deposit committed once the switch holds the projection's lock: the switch applies it itself.
    const writerDb = connect(1);
    const written = deferred();
    const commit = deferred();
    const depositing = writerDb.transaction(async (tx) => {
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 1, events: [deposited(2)] }, tx);
      written.resolve();
      await commit.promise;
    });
    await written.promise;
    const projector = createProjector({
      db: pausingAtTheSwitch(connect(2), async () => {
        commit.resolve();
        await depositing;
        await untilFeedHorizonPasses(db);
      }),
      projections: [goingOnPastFailures('switch_going_on', { version: 2, failsOn })],
      failurePolicy: longBackoff,
    });

    let run;
    try {
      run = await projector.runUntilCaughtUp({ deadline: Date.now() + 20_000 });
    } finally {
      commit.resolve();
      await depositing;
    }

    expect(run.activated).toEqual([]);
    // The build's next batch meets the deposit and counts its failure.
    const next = createProjector({ db, projections: [goingOnPastFailures('switch_going_on', { version: 2, failsOn })], failurePolicy: longBackoff });
    expect((await next.runUntilCaughtUp()).activated).toEqual([]);
    const [status] = await getProjectionStatus(db, 'switch_going_on');
    expect(status?.activeGeneration).toBe(1);
    const build = status?.generations.find((generation) => generation.generation === 2);
    expect(build?.partitions[0]).toMatchObject({ attempts: 1, failedEventId: null, lagEvents: 1 });
  });
});
