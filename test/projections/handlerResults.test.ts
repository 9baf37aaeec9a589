import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../core/db';
import { configureLogging, log } from '../../core/observability';
import { createProjector, defineProjection, generationTableName, getProjectionStatus, quoteIdentifier, type Projection } from '../../core/projections';
import type { AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { useProjectionDatabase } from './support/projectionDatabase';
import { appendAcrossStreams } from './support/recordingProjection';

const context = useProjectionDatabase();
const longBackoff = { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };

/** A projection whose AccountOpened handler is the spec's own, over a table of event ids. */
function projectionWith(name: string, handler: (event: { eventId: string }, tx: Queryable, table: string) => void | PromiseLike<void>): Projection<'seen'> {
  return defineProjection<AccountEvent>()({
    name,
    version: 1,
    tables: ['seen'],
    setup: async (tx, { seen }) => {
      await tx.query(`CREATE TABLE ${seen} (event_id uuid PRIMARY KEY)`);
    },
    handlers: { AccountOpened: (event, { tx, tables }) => handler(event, tx, tables.seen) },
  });
}

/** A statement that runs only when `then` is called, as a query builder's does. */
class LazyStatement implements PromiseLike<undefined> {
  constructor(private readonly run: () => Promise<unknown>) {}

  then<Fulfilled = undefined, Rejected = never>(
    onFulfilled?: ((value: undefined) => Fulfilled | PromiseLike<Fulfilled>) | null,
    onRejected?: ((reason: unknown) => Rejected | PromiseLike<Rejected>) | null,
  ): PromiseLike<Fulfilled | Rejected> {
    return this.run().then(() => undefined).then(onFulfilled, onRejected);
  }
}

/** A lazy query as postgres.js makes one: a Promise subclass whose statement runs once `then` is first called. */
class LazyQuery extends Promise<undefined> {
  private started = false;
  private settle: [(value: undefined) => void, (reason: unknown) => void] = [() => undefined, () => undefined];
  private run: () => Promise<unknown> = () => Promise.resolve();

  static override get [Symbol.species]() {
    return Promise;
  }

  static of(run: () => Promise<unknown>): LazyQuery {
    let settle: [(value: undefined) => void, (reason: unknown) => void] = [() => undefined, () => undefined];
    const query = new LazyQuery((resolve, reject) => {
      settle = [resolve, reject];
    });
    query.settle = settle;
    query.run = run;
    return query;
  }

  override then<Fulfilled = undefined, Rejected = never>(
    onFulfilled?: ((value: undefined) => Fulfilled | PromiseLike<Fulfilled>) | null,
    onRejected?: ((reason: unknown) => Rejected | PromiseLike<Rejected>) | null,
  ): Promise<Fulfilled | Rejected> {
    if (!this.started) {
      this.started = true;
      this.run().then(() => {
        this.settle[0](undefined);
      }, this.settle[1]);
    }
    return super.then(onFulfilled, onRejected);
  }
}

describe('a handler that throws an object with no prototype (a parsed dictionary, say)', () => {
  it('is counted on its partition as any failure: the run ends without an error', async () => {
    const { db, store } = context();
    await appendAcrossStreams(store, ['no-prototype-a'], 1, 1);
    await untilFeedHorizonPasses(db);
    const dictionary: unknown = Object.assign(Object.create(null) as object, { reason: 'bad data' });
    const projection = projectionWith('no_prototype', () => {
      throw dictionary;
    });

    const run = await createProjector({ db, projections: [projection], failurePolicy: longBackoff }).runUntilCaughtUp();

    expect(run.eventsApplied).toBe(0);
    const [status] = await getProjectionStatus(db, 'no_prototype');
    expect(status?.generations[0]?.partitions[0]).toMatchObject({ attempts: 1, lagEvents: 1 });
    expect(status?.generations[0]?.partitions[0]?.lastError).toContain('[object Object]');
  });
});

describe('a projection whose startBatch throws', () => {
  it('is counted on its partition as a handler failure: the run ends without an error', async () => {
    const { db, store } = context();
    await appendAcrossStreams(store, ['start-batch-a'], 1, 1);
    await untilFeedHorizonPasses(db);
    const projection = defineProjection<AccountEvent>()({
      name: 'start_batch_throws',
      version: 1,
      tables: [],
      startBatch: (): string[] => {
        throw new Error('no scratch space');
      },
      handlers: { AccountOpened: (event, { batch }) => void batch.push(event.eventId) },
    });

    const run = await createProjector({ db, projections: [projection], failurePolicy: longBackoff }).runUntilCaughtUp();

    expect(run.eventsApplied).toBe(0);
    const [status] = await getProjectionStatus(db, 'start_batch_throws');
    expect(status?.generations[0]?.partitions[0]).toMatchObject({ attempts: 1, lastError: 'Error: no scratch space' });
  });
});

describe('a handler that returns a thenable that is no native Promise (a lazy query builder)', () => {
  it('is awaited: its statement runs in the batch, before the checkpoint moves on', async () => {
    const { db, store } = context();
    const appended = await appendAcrossStreams(store, ['thenable-a', 'thenable-b'], 1, 1);
    await untilFeedHorizonPasses(db);
    const projection = projectionWith('thenable', (event, tx, table) => new LazyStatement(() => tx.query(`INSERT INTO ${table} (event_id) VALUES ($1)`, [event.eventId])));

    const run = await createProjector({ db, projections: [projection] }).runUntilCaughtUp();

    // Every event applied left its row (the file's other specs' events among them).
    const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM ${quoteIdentifier(generationTableName('thenable', 'seen', 1))}`);
    expect(rows).toHaveLength(run.eventsApplied);
    expect(rows.map((row) => row.event_id)).toEqual(expect.arrayContaining(appended.eventIds));
  });

  it.each([
    ['a thenable', 'thenable_context', (run: () => Promise<unknown>): PromiseLike<unknown> => new LazyStatement(run)],
    ["a lazy Promise subclass (a postgres.js query)", 'lazy_subclass_context', (run: () => Promise<unknown>): PromiseLike<unknown> => LazyQuery.of(run)],
  ])("given %s, runs its statement in the event's context: the lines it logs carry the event's ids", async (_case, name, lazily) => {
    const { db, store } = context();
    const { eventIds } = await appendAcrossStreams(store, [name.replaceAll('_', '-')], 1, 1);
    await untilFeedHorizonPasses(db);
    const logged: { eventId: unknown; causationId: unknown }[] = [];
    configureLogging((_level, message, fields) => {
      if (message === 'lazy statement run') logged.push({ eventId: fields['eventId'], causationId: fields['causationId'] });
    });
    const projection = projectionWith(name, (event, tx, table) =>
      lazily(() => {
        log.info('lazy statement run', { eventId: event.eventId });
        return tx.query(`INSERT INTO ${table} (event_id) VALUES ($1)`, [event.eventId]);
      }) as PromiseLike<void>,
    );

    try {
      await createProjector({ db, projections: [projection] }).runUntilCaughtUp();
    } finally {
      configureLogging(() => undefined);
    }

    expect(logged.find((line) => line.eventId === eventIds[0])).toEqual({ eventId: eventIds[0], causationId: eventIds[0] });
  });
});
