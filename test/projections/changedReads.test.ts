import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import {
  activateIfCaughtUp,
  createProjectionReader,
  createProjector,
  defineProjection,
  getProjectionStatus,
  ProjectionDefinitionError,
  rebuildProjection,
  registerProjection,
  type Projection,
  type ProjectionContext,
} from '../../core/projections';
import { NO_UPCASTING, type EventShape, type RecordedEvent } from '../../core/eventstore';
import { DEFAULT_FAILURE_POLICY } from '../../core/processing';
import { defineUpcasters, renameEventType } from '../../core/upcasting';
import { accountOpened, deposited, withdrawn } from '../bank/bankFixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { useProjectionDatabase } from './support/projectionDatabase';

const keepType = async (event: RecordedEvent, { tx, tables }: ProjectionContext<'seen', undefined>) => {
  await tx.query(`INSERT INTO ${tables.seen} (event_id, type) VALUES ($1, $2)`, [event.eventId, event.type]);
};

/** A projection that keeps the type of each event it is given, handling only `types`, in their order. */
function seenTypes(name: string, version: number, types: readonly string[], streamTypes?: readonly string[]): Projection<'seen'> {
  return defineProjection<EventShape>()({
    name,
    version,
    tables: ['seen'],
    ...(streamTypes ? { streamTypes } : {}),
    setup: async (tx, { seen }) => {
      await tx.query(`CREATE TABLE ${seen} (event_id uuid PRIMARY KEY, type text NOT NULL)`);
    },
    handlers: Object.fromEntries(types.map((type) => [type, keepType])),
  });
}

async function seenByActive(db: Db, projection: Projection<'seen'>): Promise<string[]> {
  const tables = await createProjectionReader(db, projection, { cacheMs: 0 }).tables();
  if (!tables) throw new Error(`${projection.name} has no active generation`);
  const { rows } = await db.query<{ type: string }>(`SELECT type FROM ${tables.seen} ORDER BY type`);
  return rows.map((row) => row.type);
}

async function generationsOf(db: Db, name: string) {
  const [status] = await getProjectionStatus(db, name);
  return status?.generations.map((generation) => [generation.generation, generation.version, generation.status]);
}

describe('what a built version reads from the feed', () => {
  const context = useProjectionDatabase();

  it('refuses code of a built version that handles another event type without a version bump, and a version bump builds it with the history', async () => {
    const { db, store } = context();
    await store.appendToStream({
      streamId: 'account-reads-1',
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [accountOpened('reads-1'), deposited(10), withdrawn(4)],
    });
    await untilFeedHorizonPasses(db);
    const v1 = seenTypes('seen_by_type', 1, ['AccountOpened', 'MoneyDeposited']);
    await createProjector({ db, projections: [v1] }).runUntilCaughtUp();

    const withWithdrawals = seenTypes('seen_by_type', 1, ['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn']);
    const refusal = new ProjectionDefinitionError(
      'projection seen_by_type v1 was built reading event types AccountOpened, MoneyDeposited, not AccountOpened, MoneyDeposited, MoneyWithdrawn: bump the version to change what it reads',
    );
    await expect(registerProjection(db, withWithdrawals)).rejects.toThrow(refusal);
    await expect(rebuildProjection(db, withWithdrawals)).rejects.toThrow(refusal);
    await expect(createProjector({ db, projections: [withWithdrawals] }).runUntilCaughtUp()).rejects.toThrow(/bump the version to change what it reads/);
    expect(await generationsOf(db, 'seen_by_type')).toEqual([[1, 1, 'active']]);
    expect(await seenByActive(db, v1)).toEqual(['AccountOpened', 'MoneyDeposited']);

    const v2 = seenTypes('seen_by_type', 2, ['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn']);
    await createProjector({ db, projections: [v2] }).runUntilCaughtUp();
    expect(await generationsOf(db, 'seen_by_type')).toEqual([[2, 2, 'active']]);
    expect(await seenByActive(db, v2)).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn']);
  });

  it('refuses to switch a build with code of its version that reads other event types, as registration refuses it, switching nothing', async () => {
    const { db, store } = context();
    await store.appendToStream({ streamId: 'account-reads-switch', streamType: 'account', expectedVersion: 'no_stream', events: [accountOpened('reads-switch'), deposited(10), withdrawn(4)] });
    await untilFeedHorizonPasses(db);
    const v1 = seenTypes('seen_at_switch', 1, ['AccountOpened', 'MoneyDeposited']);
    await createProjector({ db, projections: [v1] }).runUntilCaughtUp();
    const rebuilt = await rebuildProjection(db, v1);
    await createProjector({ db, projections: [v1] }).runUntilCaughtUp();
    const rebuiltAgain = await rebuildProjection(db, v1);

    const withWithdrawals = seenTypes('seen_at_switch', 1, ['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn']);
    await expect(activateIfCaughtUp(db, withWithdrawals, rebuiltAgain, NO_UPCASTING, DEFAULT_FAILURE_POLICY)).rejects.toThrow(/bump the version to change what it reads/);
    expect(await generationsOf(db, 'seen_at_switch')).toEqual([
      [rebuilt.generation, 1, 'active'],
      [rebuiltAgain.generation, 1, 'building'],
    ]);
    expect(new Set(await seenByActive(db, v1))).toEqual(new Set(['AccountOpened', 'MoneyDeposited']));
  });

  it('refuses code of a built version that reads other stream types, to all of them or from all of them', async () => {
    const { db } = context();
    await registerProjection(db, seenTypes('by_stream_type', 1, ['AccountOpened']));
    await registerProjection(db, seenTypes('to_all_streams', 1, ['AccountOpened'], ['account']));

    await expect(registerProjection(db, seenTypes('by_stream_type', 1, ['AccountOpened'], ['account']))).rejects.toThrow(
      new ProjectionDefinitionError(
        'projection by_stream_type v1 was built reading event types AccountOpened of every stream type, not AccountOpened of stream types account: bump the version to change what it reads',
      ),
    );
    await expect(registerProjection(db, seenTypes('to_all_streams', 1, ['AccountOpened']))).rejects.toThrow(
      /built reading event types AccountOpened of stream types account, not AccountOpened of every stream type: bump the version/,
    );
    expect(await generationsOf(db, 'by_stream_type')).toEqual([[1, 1, 'active']]);
    expect(await generationsOf(db, 'to_all_streams')).toEqual([[1, 1, 'active']]);
  });

  it('takes the same types named in another order as the same reads', async () => {
    const { db } = context();
    await registerProjection(db, seenTypes('reordered', 1, ['MoneyDeposited', 'AccountOpened'], ['ledger', 'account']));

    const builds = await registerProjection(db, seenTypes('reordered', 1, ['AccountOpened', 'MoneyDeposited'], ['account', 'ledger']));
    expect(builds.map((build) => [build.generation, build.status])).toEqual([[1, 'active']]);
  });

  it('takes a type named twice as named once', async () => {
    const { db } = context();
    await registerProjection(db, seenTypes('named_twice', 1, ['AccountOpened', 'AccountOpened'], ['account', 'account']));

    const builds = await registerProjection(db, seenTypes('named_twice', 1, ['AccountOpened'], ['account']));
    expect(builds.map((build) => [build.generation, build.status])).toEqual([[1, 'active']]);
  });

  it('refuses a handler moved to the new name of a type its upcaster renames, and the bumped version reads the events under both names', async () => {
    const { db, store } = context();
    const streamId = 'account-renamed-1';
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [{ type: 'TopUpMade', data: { amount: 1 } }] });
    await untilFeedHorizonPasses(db);
    await createProjector({ db, projections: [seenTypes('renamed_type', 1, ['TopUpMade'])] }).runUntilCaughtUp();

    // Whether the new name reads only the events the build read (a rename split by schema
    // version, or onto a name with events of its own, reads others) is not told from names.
    const upcaster = defineUpcasters([renameEventType('TopUpMade', 1, { type: 'TopUpRecorded', version: 1 })]);
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 1, events: [{ type: 'TopUpRecorded', data: { amount: 2 } }] });
    await untilFeedHorizonPasses(db);
    await expect(createProjector({ db, projections: [seenTypes('renamed_type', 1, ['TopUpRecorded'])], upcaster }).runUntilCaughtUp()).rejects.toThrow(
      /renamed_type v1 was built reading event types TopUpMade, not TopUpRecorded: bump the version/,
    );

    const bumped = seenTypes('renamed_type', 2, ['TopUpRecorded']);
    await createProjector({ db, projections: [bumped], upcaster }).runUntilCaughtUp();
    expect(await generationsOf(db, 'renamed_type')).toEqual([[2, 2, 'active']]);
    expect(await seenByActive(db, bumped)).toEqual(['TopUpRecorded', 'TopUpRecorded']);
  });

  it('records what a build started before reads were recorded reads at its first registration, and refuses a change after that', async () => {
    const { db } = context();
    await registerProjection(db, seenTypes('older_build', 1, ['AccountOpened']));
    // As a build started before migration 0032 has it.
    await db.query("UPDATE projection_generations SET event_types = NULL, stream_types = NULL WHERE name = 'older_build'");

    await registerProjection(db, seenTypes('older_build', 1, ['AccountOpened', 'MoneyDeposited']));
    await expect(registerProjection(db, seenTypes('older_build', 1, ['AccountOpened']))).rejects.toThrow(
      /v1 was built reading event types AccountOpened, MoneyDeposited, not AccountOpened: bump the version/,
    );
    expect(await generationsOf(db, 'older_build')).toEqual([[1, 1, 'active']]);
  });
});
