import { expect, it } from 'vitest';
import { createRepository, defineAggregate, DomainError } from '../../core/aggregates';
import { ConcurrencyError } from '../../core/eventstore';
import { account, deposit, open, withdraw } from '../support/accountAggregate';
import { countingQueryable } from '../support/countingQueryable';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { deferred, sleep } from '../support/fixtures';

const newId = () => crypto.randomUUID();

/** A list whose decider has a bug: it adds the item to the state it is given, in place. */
const sloppyList = defineAggregate<{ items: string[] }, { type: 'Added'; data: { item: string } }, { type: 'Add'; data: { item: string } }>({
  streamType: 'list',
  initialState: () => ({ items: [] }),
  evolve: { Added: (state, { data }) => ({ items: [...state.items, data.item] }) },
  decide: {
    Add: ({ data }, state) => {
      if (state.items.includes(data.item)) throw new DomainError('ALREADY_ADDED', `${data.item} is on the list`);
      state.items.push(data.item);
      return { type: 'Added', data };
    },
  },
});

describeOnEachDriver('the aggregate repository', (context) => {
  const accounts = () => createRepository(context().db, context().store, account);

  it('loads an aggregate that has no events yet as its initial state at version 0', async () => {
    const loaded = await accounts().load(newId());
    expect(loaded).toMatchObject({ state: { status: 'new', balance: 0 }, version: 0, snapshotVersion: 0 });
  });

  it('runs commands: loads, decides, appends, and returns the new state, version and events', async () => {
    const id = newId();
    await accounts().handle(id, open());
    const outcome = await accounts().handle(id, deposit(30));

    expect(outcome.streamId).toBe(`account-${id}`);
    expect(outcome.version).toBe(2);
    expect(outcome.state).toMatchObject({ status: 'open', balance: 30 });
    expect(outcome.events).toHaveLength(1);
    expect(outcome.events[0]).toMatchObject({ type: 'MoneyDeposited', data: { amount: 30, currency: 'EUR' }, version: 2 });
    const stored = await context().store.readStream(outcome.streamId);
    expect(stored.events.map((event) => event.type)).toEqual(['AccountOpened', 'MoneyDeposited']);
    expect((await accounts().load(id)).state).toEqual(outcome.state);
  });

  it('writes the request metadata on every new event', async () => {
    const id = newId();
    const metadata = { correlationId: 'corr-9', causationId: 'cmd-9', commandId: 'cmd-9', traceparent: '00-t-s-01' };
    const outcome = await accounts().handle(id, open(), { metadata });
    const stored = await context().store.readEvent(outcome.events[0]?.eventId ?? '');
    expect(stored?.metadata).toEqual(metadata);
  });

  it('refuses a command that breaks a rule with a DomainError and writes nothing', async () => {
    const id = newId();
    await accounts().handle(id, open());
    await accounts().handle(id, deposit(10));
    const refused = accounts().handle(id, withdraw(11));
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    await expect(refused).rejects.toMatchObject({ rule: 'INSUFFICIENT_FUNDS' });
    expect((await accounts().load(id)).version).toBe(2);
  });

  it('appends nothing for a command that decides no events', async () => {
    const id = newId();
    await accounts().handle(id, open());
    await accounts().handle(id, { type: 'CloseAccount', data: {} });
    const again = await accounts().handle(id, { type: 'CloseAccount', data: {} });
    expect(again).toMatchObject({ version: 2, events: [], checkpoint: undefined });
  });

  it('hands out states frozen: changing a returned state throws, and the next command decides on the true one', async () => {
    const repository = accounts();
    const id = newId();
    await repository.handle(id, open());
    const { state } = await repository.handle(id, deposit(10));
    expect(() => {
      state.balance = 1_000;
    }).toThrow(TypeError);
    await expect(repository.handle(id, withdraw(500))).rejects.toMatchObject({ rule: 'INSUFFICIENT_FUNDS' });
    expect((await repository.load(id)).state.balance).toBe(10);
  });

  it('fails a decider that changes the state it is given, writing nothing, rather than keep the changed state', async () => {
    const lists = createRepository(context().db, context().store, sloppyList);
    const id = newId();
    await expect(lists.handle(id, { type: 'Add', data: { item: 'milk' } })).rejects.toBeInstanceOf(TypeError);
    expect((await lists.load(id)).version).toBe(0);
  });

  it('loads in one round trip', async () => {
    const id = newId();
    await accounts().handle(id, open());
    await accounts().handle(id, deposit(1));
    const counting = countingQueryable(context().db);
    await accounts().load(id, counting);
    expect(counting.count()).toBe(1);
  });

  it('two commands on one aggregate at once: one wins, the other gets a ConcurrencyError', async () => {
    const id = newId();
    await accounts().handle(id, open());
    const firstHeld = deferred();

    // The first command appends in a transaction held open, so the second loads the same version.
    const first = context().db.transaction(async (tx) => {
      const outcome = await accounts().handle(id, deposit(5), { tx });
      await firstHeld.promise;
      return outcome;
    });
    await waitForAdvisoryLockHolder();
    const second = accounts().handle(id, deposit(7));
    await waitForAdvisoryLockWaiter();
    firstHeld.resolve();

    // Settled together: the loser may fail while the winner is still being awaited.
    const [winner, loser] = await Promise.allSettled([first, second]);
    expect(winner).toMatchObject({ status: 'fulfilled', value: { version: 2 } });
    expect(loser).toMatchObject({ status: 'rejected', reason: { constructor: ConcurrencyError, expectedVersion: 1, actualVersion: 2 } });
    expect((await accounts().load(id)).state.balance).toBe(5);
  });

  const advisoryLocks = async (granted: boolean) =>
    (
      await context().db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [granted],
      )
    ).rows[0]?.n ?? 0;
  const waitFor = async (condition: () => Promise<boolean>) => {
    for (let attempt = 0; attempt < 500; attempt += 1) {
      if (await condition()) return;
      await sleep(10);
    }
    throw new Error('condition not reached');
  };
  const waitForAdvisoryLockHolder = () => waitFor(async () => (await advisoryLocks(true)) > 0);
  const waitForAdvisoryLockWaiter = () => waitFor(async () => (await advisoryLocks(false)) > 0);
});
