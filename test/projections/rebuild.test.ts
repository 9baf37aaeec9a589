import { describe, expect, it } from 'vitest';
import { createRepository } from '../../core/aggregates';
import { account, defineAccountSummaries } from '../../core/bank';
import type { Db } from '../../core/db';
import { ProcessorDefinitionError } from '../../core/processing';
import {
  createProjectionReader,
  createProjector,
  defineProjection,
  getProjectionStatus,
  MAX_READER_CACHE_MS,
  ProjectionDefinitionError,
  rebuildProjection,
  registerProjection,
  RETIRED_TABLES_KEPT_MS,
  type Projection,
} from '../../core/projections';
import type { AccountEvent } from '../../core/bank';
import { accountOpened, deposit, deposited, openAccount, withdraw } from '../bank/bankFixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred } from '../support/fixtures';
import { useProjectionDatabase } from './support/projectionDatabase';
import { readApplied, recordingProjection } from './support/recordingProjection';
import { runUntilNoLag } from './support/runUntilNoLag';

const ACCOUNTS = 20;

async function summaries(db: Db, projection: Projection<'accounts'>) {
  const tables = await createProjectionReader(db, projection, { cacheMs: 0 }).tables();
  if (!tables) throw new Error(`${projection.name} has no active generation`);
  const { rows } = await db.query(`SELECT account_id, owner, currency, status, balance, version FROM ${tables.accounts} ORDER BY account_id`);
  return { table: tables.accounts, rows };
}

async function tableExists(db: Db, quoted: string): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [quoted]);
  return rows[0]?.found != null;
}

describe('rebuilding a projection blue/green', () => {
  const context = useProjectionDatabase();

  it('builds a new version beside the serving one while writers append, switches when caught up, and ends equal to a fresh build', async () => {
    const { db, store, connect } = context();
    const accounts = createRepository(connect(4), store, account);
    const ids = Array.from({ length: ACCOUNTS }, (_, index) => `acc-${index}`);
    for (const id of ids) await accounts.handle(id, openAccount(id));
    let writing = true;
    const writers = Promise.all(
      ids.map(async (id, index) => {
        for (let round = 0; writing; round += 1) {
          await accounts.handle(id, round % 3 === 2 ? withdraw(1) : deposit(index + 1));
        }
      }),
    );

    const v1 = defineAccountSummaries({ version: 1 });
    await createProjector({ db, projections: [v1] }).runUntilCaughtUp();
    const servedByV1 = await summaries(db, v1);
    expect(servedByV1.table).toBe('"account_summaries__accounts_g1"');

    // The code moves to v2: its generation builds while v1's keeps serving reads.
    const v2 = defineAccountSummaries({ version: 2 });
    await registerProjection(db, v2);
    const [during] = await getProjectionStatus(db, 'account_summaries');
    expect(during?.activeGeneration).toBe(1);
    expect(during?.generations.map((generation) => [generation.generation, generation.version, generation.status, generation.reason])).toEqual([
      [1, 1, 'active', 'initial'],
      [2, 2, 'building', 'version'],
    ]);
    expect((await summaries(db, v2)).table).toBe('"account_summaries__accounts_g1"');

    const v2Projector = createProjector({ db, projections: [v2] });
    const switched = await v2Projector.runUntilCaughtUp();
    expect(switched.activated).toEqual([{ name: 'account_summaries', generation: 2 }]);
    expect((await summaries(db, v2)).table).toBe('"account_summaries__accounts_g2"');

    // A rebuild on demand, same version: generation 3 builds while 2 serves and keeps following the feed.
    const rebuilding = await rebuildProjection(db, v2);
    expect(rebuilding).toMatchObject({ generation: 3, version: 2, status: 'building', reason: 'rebuild' });
    expect(await tableExists(db, servedByV1.table), 'v1 tables kept: retired moments ago, a reader may still hold their names').toBe(true);
    const [progress] = await getProjectionStatus(db, 'account_summaries');
    expect(progress?.generations.find((generation) => generation.generation === 3)?.partitions.every((p) => p.state === 'rebuilding')).toBe(true);
    const rebuilt3 = await v2Projector.runUntilCaughtUp();
    expect(rebuilt3.activated).toEqual([{ name: 'account_summaries', generation: 3 }]);

    writing = false;
    await writers;
    await runUntilNoLag(db, v2Projector, 'account_summaries');

    const fresh = defineAccountSummaries({ name: 'fresh_summaries', version: 1 });
    await runUntilNoLag(db, createProjector({ db, projections: [fresh] }), 'fresh_summaries');
    const rebuilt = await summaries(db, v2);
    expect(rebuilt.table).toBe('"account_summaries__accounts_g3"');
    expect(rebuilt.rows).toEqual((await summaries(db, fresh)).rows);
    expect(rebuilt.rows).toHaveLength(ACCOUNTS);
    const [settled] = await getProjectionStatus(db, 'account_summaries');
    expect(settled?.generations.map((generation) => [generation.generation, generation.status])).toEqual([[3, 'active']]);
  });

  it('drops a retired generation’s tables when a later build starts, once no reader can still hold their names', async () => {
    const { db } = context();
    const projection = defineAccountSummaries({ name: 'short_lived_summaries', version: 1 });
    const projector = createProjector({ db, projections: [projection] });
    const tableOf = (generation: number) => `"short_lived_summaries__accounts_g${String(generation)}"`;
    await projector.runUntilCaughtUp();
    await rebuildProjection(db, projection);
    expect((await projector.runUntilCaughtUp()).activated).toEqual([{ name: 'short_lived_summaries', generation: 2 }]);

    // Generation 1 was retired by that switch a moment ago: a build starting now leaves its tables.
    await rebuildProjection(db, projection);
    expect(await tableExists(db, tableOf(1))).toBe(true);
    expect((await projector.runUntilCaughtUp()).activated).toEqual([{ name: 'short_lived_summaries', generation: 3 }]);

    // Past the time any reader may cache names, the next build drops generations 1 and 2; 3 serves.
    await db.query(
      `UPDATE projection_generations SET retired_at = retired_at - make_interval(secs => $1 / 1000.0) WHERE name = 'short_lived_summaries' AND status = 'retired'`,
      [RETIRED_TABLES_KEPT_MS],
    );
    await rebuildProjection(db, projection);
    expect([await tableExists(db, tableOf(1)), await tableExists(db, tableOf(2)), await tableExists(db, tableOf(3))]).toEqual([false, false, true]);
    expect((await summaries(db, projection)).table).toBe(tableOf(3));
  });

  it('drops, by default, a retired generation’s tables that reference each other (a foreign key), and the next build starts', async () => {
    const { db } = context();
    const linked = (version: number) =>
      defineProjection<AccountEvent>()({
        name: 'linked_owners',
        version,
        tables: ['owners', 'accounts'],
        setup: async (tx, { owners, accounts }) => {
          await tx.query(`CREATE TABLE ${owners} (owner text PRIMARY KEY)`);
          await tx.query(`CREATE TABLE ${accounts} (account_id text PRIMARY KEY, owner text NOT NULL REFERENCES ${owners})`);
        },
        handlers: {
          AccountOpened: async (event, { tx, tables }) => {
            await tx.query(`INSERT INTO ${tables.owners} VALUES ($1) ON CONFLICT DO NOTHING`, [event.data.owner]);
            await tx.query(`INSERT INTO ${tables.accounts} VALUES ($1, $2)`, [event.streamId, event.data.owner]);
          },
        },
      });
    await createProjector({ db, projections: [linked(1)] }).runUntilCaughtUp();
    expect((await createProjector({ db, projections: [linked(2)] }).runUntilCaughtUp()).activated).toEqual([{ name: 'linked_owners', generation: 2 }]);
    await db.query(
      `UPDATE projection_generations SET retired_at = retired_at - make_interval(secs => $1 / 1000.0) WHERE name = 'linked_owners' AND status = 'retired'`,
      [RETIRED_TABLES_KEPT_MS],
    );

    const next = await rebuildProjection(db, linked(2));

    expect(next.generation).toBe(3);
    expect([await tableExists(db, '"linked_owners__owners_g1"'), await tableExists(db, '"linked_owners__accounts_g1"')]).toEqual([false, false]);
  });

  it('keeps a retired generation’s tables it cannot drop (a view on them, a long read) for a later build, and builds the next version all the same', async () => {
    const { db, store, connect } = context();
    const v1 = recordingProjection({ name: 'viewed', version: 1 });
    const v2 = recordingProjection({ name: 'viewed', version: 2 });
    const ageRetired = () =>
      db.query(`UPDATE projection_generations SET retired_at = retired_at - make_interval(secs => $1 / 1000.0) WHERE name = 'viewed' AND status = 'retired'`, [RETIRED_TABLES_KEPT_MS]);
    await createProjector({ db, projections: [v1] }).runUntilCaughtUp();
    await rebuildProjection(db, v1);
    expect((await createProjector({ db, projections: [v1] }).runUntilCaughtUp()).activated).toEqual([{ name: 'viewed', generation: 2 }]);
    // A report someone built on the retired generation's table.
    await db.query('CREATE VIEW viewed_report AS SELECT event_id FROM viewed__applied_g1');
    await ageRetired();
    await store.appendToStream({ streamId: 'acc-viewed', streamType: 'account', expectedVersion: 'no_stream', events: [deposited(3)] });
    await untilFeedHorizonPasses(db);

    expect((await createProjector({ db, projections: [v2] }).runUntilCaughtUp()).activated).toEqual([{ name: 'viewed', generation: 3 }]);
    expect(await tableExists(db, 'viewed__applied_g1')).toBe(true);
    expect((await readApplied(db, v2)).map((row) => row.stream_id)).toContain('acc-viewed');

    // The view gone, a long read of the table holds the drop off past its lock wait: kept again.
    await db.query('DROP VIEW viewed_report');
    const reader = connect(1);
    const readEnds = deferred();
    const reading = deferred();
    const read = reader.transaction(async (tx) => {
      await tx.query('SELECT count(*) FROM viewed__applied_g1');
      reading.resolve();
      await readEnds.promise;
    });
    await reading.promise;
    await ageRetired();
    try {
      expect((await rebuildProjection(db, v2)).generation).toBe(4);
      expect([await tableExists(db, 'viewed__applied_g1'), await tableExists(db, 'viewed__applied_g2')]).toEqual([true, false]);
    } finally {
      readEnds.resolve();
      await read;
    }

    // Nothing in the way, the build after that one drops it.
    expect((await createProjector({ db, projections: [v2] }).runUntilCaughtUp()).activated).toEqual([{ name: 'viewed', generation: 4 }]);
    await rebuildProjection(db, v2);
    expect(await tableExists(db, 'viewed__applied_g1')).toBe(false);
  });

  it('refuses a projection whose setup does not create a table it declares (none at all, or one under another name), registering nothing', async () => {
    const { db } = context();
    const handlers = { AccountOpened: () => undefined };
    const noSetup = defineProjection<AccountEvent>()({ name: 'no_setup', version: 1, tables: ['accounts'], handlers });
    const otherName = defineProjection<AccountEvent>()({
      name: 'other_name',
      version: 1,
      tables: ['accounts', 'owners'],
      setup: async (tx, { accounts }) => {
        await tx.query(`CREATE TABLE ${accounts} (id text PRIMARY KEY)`);
        await tx.query('CREATE TABLE other_name_owners_hardcoded (id text PRIMARY KEY)');
      },
      handlers,
    });

    await expect(registerProjection(db, noSetup)).rejects.toThrow(new ProjectionDefinitionError('no_setup: its setup did not create "no_setup__accounts_g1", which it declares in tables: create each with the name setup is given'));
    await expect(registerProjection(db, otherName)).rejects.toThrow(/other_name: its setup did not create "other_name__owners_g1"/);
    expect(await getProjectionStatus(db, 'no_setup')).toEqual([]);
    expect(await getProjectionStatus(db, 'other_name')).toEqual([]);
    const { rows } = await db.query("SELECT to_regclass('other_name_owners_hardcoded') AS left_behind");
    expect(rows).toEqual([{ left_behind: null }]);
  });

  it('refuses code of a built version whose tables changed without a version bump, starting nothing', async () => {
    const { db } = context();
    await registerProjection(db, defineAccountSummaries({ name: 'renamed_tables', version: 1 }));
    const renamed = defineProjection<AccountEvent>()({ name: 'renamed_tables', version: 1, partitions: 4, tables: ['entries'], handlers: { AccountOpened: () => undefined } });

    await expect(registerProjection(db, renamed)).rejects.toThrow(/built with tables accounts, not entries: bump the version/);
    await expect(rebuildProjection(db, renamed)).rejects.toThrow(ProjectionDefinitionError);
    const [status] = await getProjectionStatus(db, 'renamed_tables');
    expect(status?.generations.map((generation) => [generation.generation, generation.status])).toEqual([[1, 'active']]);
  });

  it('refuses a rebuild by code of the same version with another partition count, starting nothing', async () => {
    const { db } = context();
    await registerProjection(db, defineAccountSummaries({ name: 'partitioned_summaries', version: 1, partitions: 4 }));
    await expect(rebuildProjection(db, defineAccountSummaries({ name: 'partitioned_summaries', version: 1, partitions: 2 }))).rejects.toThrow(
      ProjectionDefinitionError,
    );
    const [status] = await getProjectionStatus(db, 'partitioned_summaries');
    expect(status?.generations.map((generation) => [generation.generation, generation.status])).toEqual([[1, 'active']]);
  });

  it('a projection refused for its partition count fails the run, naming it, and the other projections still run', async () => {
    const { db, store } = context();
    await registerProjection(db, recordingProjection({ name: 'resized', partitions: 2 }));
    const healthy = recordingProjection({ name: 'healthy' });
    await registerProjection(db, healthy);
    const { events } = await store.appendToStream({
      streamId: 'account-refused-neighbour',
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [accountOpened('refused-neighbour'), deposited(5)],
    });
    await untilFeedHorizonPasses(db);

    const projector = createProjector({ db, projections: [recordingProjection({ name: 'resized', partitions: 4 }), healthy] });
    const running = projector.runUntilCaughtUp();
    await expect(running).rejects.toBeInstanceOf(AggregateError);
    await expect(running).rejects.toThrow(/projection resized v1 was built with 2 partitions, not 4/);

    const [status] = await getProjectionStatus(db, 'healthy');
    expect(status?.generations[0]?.partitions.map((partition) => partition.lagEvents)).toEqual([0]);
    expect((await readApplied(db, healthy)).map((row) => row.event_id)).toEqual(expect.arrayContaining(events.map((event) => event.eventId)));
  });

  it('refuses code of the serving version with another partition count while a newer version builds, as it refuses it alone', async () => {
    const { db } = context();
    await registerProjection(db, recordingProjection({ name: 'resized_old', version: 1, partitions: 1 }));
    await registerProjection(db, recordingProjection({ name: 'resized_old', version: 2, partitions: 1 }));

    // Instances still on version 1 come up with two partitions, and no version bump.
    const running = createProjector({ db, projections: [recordingProjection({ name: 'resized_old', version: 1, partitions: 2 })] }).runUntilCaughtUp();
    await expect(running).rejects.toThrow(/projection resized_old v1 was built with 1 partitions, not 2/);
    const [status] = await getProjectionStatus(db, 'resized_old');
    expect(status?.generations.map((generation) => [generation.generation, generation.status])).toEqual([[1, 'active'], [2, 'building']]);
  });

  it('refuses a projector given two projections of one name, which would share their checkpoints and leases', () => {
    const projections = [recordingProjection({ name: 'named_twice' }), recordingProjection({ name: 'named_twice', version: 2 })];
    expect(() => createProjector({ db: context().db, projections })).toThrow(new ProjectionDefinitionError('projection named_twice is given to the projector twice'));
  });

  it('refuses a reader that would cache table names longer than retired tables are kept', () => {
    const projection = defineAccountSummaries({ name: 'cached_summaries', version: 1 });
    expect(() => createProjectionReader(context().db, projection, { cacheMs: MAX_READER_CACHE_MS + 1 })).toThrow(ProjectionDefinitionError);
    expect(() => createProjectionReader(context().db, projection, { cacheMs: -1 })).toThrow(ProjectionDefinitionError);
    expect(() => createProjectionReader(context().db, projection, null as never)).toThrow(ProjectionDefinitionError);
  });

  it('refuses, from plain JavaScript, projector options that are none: no object, projections that are no list of projections, no db, an upcaster or onHandlerError that is none, a build turn that is no whole number of milliseconds from 1', () => {
    const { db } = context();
    const projections = [recordingProjection({ name: 'plain_options' })];
    const refused: [string, unknown][] = [
      ['no options', null],
      ['projections left out', { db }],
      ['projections as one object', { db, projections: { projection: projections[0] } }],
      ['a projection of null', { db, projections: [null] }],
      ['no db, which failed every run', { projections }],
      ['an upcaster that is no upcaster', { db, projections, upcaster: {} }],
      ['an onHandlerError that is no function, which was never told anything', { db, projections, onHandlerError: 'log' }],
      ...[0, -1, 1.5, Number.NaN, '5000', null].map((buildTurnMs): [string, unknown] => [`a build turn of ${String(buildTurnMs)}`, { db, projections, buildTurnMs }]),
    ];
    for (const [label, options] of refused) expect(() => createProjector(options as never), label).toThrow(ProjectionDefinitionError);
  });

  it('refuses run options that are no object before a projection is registered', async () => {
    const { db } = context();
    const projector = createProjector({ db, projections: [recordingProjection({ name: 'null_run_options' })] });
    await expect(projector.runUntilCaughtUp(null as never)).rejects.toThrow(ProcessorDefinitionError);
    expect(await getProjectionStatus(db, 'null_run_options')).toEqual([]);
  });
});
