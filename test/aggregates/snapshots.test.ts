import { expect, it } from 'vitest';
import { createRepository, type SnapshotPolicy } from '../../core/aggregates';
import type { NewEvent } from '../../core/eventstore';
import { defineAccount, deposit, open, type AccountEvent, type AccountState } from '../support/accountAggregate';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { deferred, sleep } from '../support/fixtures';

const newId = () => crypto.randomUUID();

describeOnEachDriver('aggregate snapshots', (context) => {
  const repository = (snapshots?: SnapshotPolicy<AccountState>, onSnapshotError?: (error: unknown) => void) =>
    createRepository(context().db, context().store, defineAccount(snapshots), {
      snapshotBudgetMs: 50,
      ...(onSnapshotError ? { onSnapshotError } : {}),
    });
  const snapshotRow = async (id: string) =>
    (
      await context().db.query<{ version: number; schema_version: number }>(
        'SELECT version, schema_version FROM snapshots WHERE stream_id = $1',
        [`account-${id}`],
      )
    ).rows[0];

  /** Given an open account with `deposits` deposits of 1..n, written straight to the store in batches. */
  const givenLongAccount = async (deposits: number) => {
    const id = newId();
    const streamId = `account-${id}`;
    const events: NewEvent<AccountEvent>[] = [
      { type: 'AccountOpened', data: { owner: 'ada', currency: 'EUR' } },
      ...Array.from({ length: deposits }, (_, index) => ({
        type: 'MoneyDeposited' as const,
        data: { amount: index + 1, currency: 'EUR' },
      })),
    ];
    for (let start = 0; start < events.length; start += 1_000) {
      await context().store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'any', events: events.slice(start, start + 1_000) });
    }
    return id;
  };

  it('a 10,000-event aggregate loads to the same state with and without snapshots', async () => {
    const id = await givenLongAccount(9_999);
    const plain = repository();
    const snapshotted = repository({ every: 100, schemaVersion: 1 });

    const rebuilt = await plain.load(id);
    expect(rebuilt).toMatchObject({ version: 10_000, snapshotVersion: 0 });
    expect(rebuilt.state.balance).toBe((9_999 * 10_000) / 2);

    await snapshotted.handle(id, deposit(1));
    expect(await snapshotRow(id)).toEqual({ version: 10_001, schema_version: 1 });
    for (let command = 0; command < 150; command += 1) await snapshotted.handle(id, deposit(2));
    expect(await snapshotRow(id)).toEqual({ version: 10_101, schema_version: 1 });

    const fromSnapshot = await snapshotted.load(id);
    const fromEvents = await plain.load(id);
    expect(fromSnapshot).toMatchObject({ version: 10_151, snapshotVersion: 10_101 });
    expect(fromSnapshot.state).toEqual(fromEvents.state);
    expect(fromEvents.snapshotVersion).toBe(0);
  });

  it('really starts from the snapshot: a marked snapshot shows through the load', async () => {
    const id = newId();
    const snapshotted = repository({ every: 2, schemaVersion: 1 });
    await snapshotted.handle(id, open());
    await snapshotted.handle(id, deposit(5));
    await context().db.query(`UPDATE snapshots SET state = jsonb_set(state, '{owner}', '"from-snapshot"') WHERE stream_id = $1`, [
      `account-${id}`,
    ]);
    expect((await snapshotted.load(id)).state.owner).toBe('from-snapshot');
    expect((await repository().load(id)).state.owner).toBe('ada');
  });

  it('ignores and then replaces snapshots of an older schema version', async () => {
    const id = newId();
    const v1 = repository({ every: 2, schemaVersion: 1 });
    await v1.handle(id, open());
    await v1.handle(id, deposit(5));
    expect(await snapshotRow(id)).toEqual({ version: 2, schema_version: 1 });

    // Version 2 stores the state in another shape, so a version-1 snapshot would be unreadable.
    const v2Policy: SnapshotPolicy<AccountState> = {
      every: 2,
      schemaVersion: 2,
      toJson: (state) => ({ format: 2, state: { ...state } }),
      fromJson: (json) => (json as { state: AccountState }).state,
    };
    const v2 = repository(v2Policy);
    const loaded = await v2.load(id);
    expect(loaded).toMatchObject({ version: 2, snapshotVersion: 0, state: { balance: 5, owner: 'ada' } });

    await v2.handle(id, deposit(1));
    expect(await snapshotRow(id)).toEqual({ version: 3, schema_version: 2 });
    expect(await v2.load(id)).toMatchObject({ snapshotVersion: 3, state: { balance: 6 } });
    expect(await v1.load(id)).toMatchObject({ snapshotVersion: 0, state: { balance: 6 } });
  });

  it('a failing snapshot write is reported and does not fail the command', async () => {
    const id = newId();
    const failures: unknown[] = [];
    const broken = repository(
      {
        every: 1,
        schemaVersion: 1,
        toJson: () => {
          throw new Error('cannot serialise');
        },
      },
      (error) => failures.push(error),
    );
    const outcome = await broken.handle(id, open());
    expect(outcome.version).toBe(1);
    expect(failures).toEqual([expect.objectContaining({ message: 'cannot serialise' })]);
    expect(await snapshotRow(id)).toBeUndefined();
  });

  it('a stalled snapshot write does not hold the command beyond its budget', async () => {
    const id = newId();
    const snapshotted = repository({ every: 1, schemaVersion: 1 });
    await snapshotted.handle(id, open());
    const lockHeld = deferred();
    const rowLocked = deferred();
    const blocker = context().db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM snapshots WHERE stream_id = $1 FOR UPDATE', [`account-${id}`]);
      rowLocked.resolve();
      await lockHeld.promise;
    });
    await rowLocked.promise;

    // Were the command to wait for its snapshot, it would wait for the lock forever.
    const outcome = await snapshotted.handle(id, deposit(3));
    expect(outcome.version).toBe(2);
    expect(await snapshotRow(id)).toEqual({ version: 1, schema_version: 1 });

    lockHeld.resolve();
    await blocker;
    for (let attempt = 0; attempt < 100 && (await snapshotRow(id))?.version !== 2; attempt += 1) await sleep(10);
    expect(await snapshotRow(id)).toEqual({ version: 2, schema_version: 1 });
  });
});
