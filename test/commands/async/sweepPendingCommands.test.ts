import { expect, it } from 'vitest';
import { createAsyncCommands, type AsyncCommands } from '../../../core/commands';
import type { Db } from '../../../core/db';
import { describeOnEachDriver } from '../../support/describeOnEachDriver';
import { age, busOn, droppingDispatcher, eventTypesOf, givenOpenAccount, losingSends, newId } from './asyncHarness';

// The commands each test ages are an hour old; what other tests left pending is fresh, so not swept here.
const STUCK = { olderThanMs: 30 * 60_000 };

describeOnEachDriver('sweeping pending commands', (context) => {
  const typesOf = (accountId: string) => eventTypesOf(context().store, accountId);
  /** Async commands whose dispatcher records ids and runs nothing: the test decides what runs. */
  const sweeperOn = (db: Db) => {
    const dispatcher = droppingDispatcher();
    return { ...createAsyncCommands({ db, bus: busOn(db), dispatcher }), dispatched: dispatcher.dispatched };
  };
  const sendDeposits = async (sender: AsyncCommands, accountId: string, count: number) => {
    const ids = Array.from({ length: count }, () => newId());
    for (const [index, commandId] of ids.entries()) {
      await sender.send({ type: 'Deposit', payload: { accountId, amount: index + 1 }, commandId });
    }
    return ids;
  };

  it('re-dispatches a command whose dispatch was lost, and it then succeeds', async () => {
    const { db } = context();
    const sender = losingSends(db);
    const accountId = await givenOpenAccount(busOn(db));
    const [commandId = ''] = await sendDeposits(sender, accountId, 1);
    expect(sender.dispatcher.dispatched).toEqual([commandId]);
    expect(await sender.sweepPendingCommands(STUCK)).toEqual({ redispatched: [], failed: [] });

    await age(db, [commandId]);
    const sweeper = sweeperOn(db);
    const swept = await sweeper.sweepPendingCommands(STUCK);
    expect(swept).toEqual({ redispatched: [commandId], failed: [] });
    expect(sweeper.dispatched).toEqual([commandId]);
    expect(await sweeper.getCommandStatus(commandId)).toMatchObject({ status: 'pending', attempts: 1 });
    // Claimed means fresh again: the next sweep leaves it to the run it dispatched.
    expect(await sweeper.sweepPendingCommands(STUCK)).toEqual({ redispatched: [], failed: [] });

    expect(await sweeper.runPendingCommand(commandId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await typesOf(accountId)).toEqual(['AccountOpened', 'MoneyDeposited']);
  });

  it('has one effect when the sweep and late workers run the same commands at once', async () => {
    const { db } = context();
    const sender = losingSends(db);
    const accountId = await givenOpenAccount(busOn(db));
    const commandIds = await sendDeposits(sender, accountId, 10);
    await age(db, commandIds);
    const sweeper = sweeperOn(context().connect(10));
    const lateDb = context().connect(10);
    const late = createAsyncCommands({ db: lateDb, bus: busOn(lateDb), dispatcher: droppingDispatcher() });
    expect((await sweeper.sweepPendingCommands(STUCK)).redispatched.sort()).toEqual([...commandIds].sort());

    const runs = await Promise.all(
      commandIds.flatMap((commandId) => [
        sweeper.runPendingCommand(commandId),
        late.runPendingCommand(commandId),
        late.runPendingCommand(commandId),
      ]),
    );
    expect(runs.every((status) => status?.status === 'succeeded')).toBe(true);
    // Amounts 1..10, each exactly once.
    const { events } = await context().store.readStream(`account-${accountId}`);
    const amounts = events.filter((event) => event.type === 'MoneyDeposited').map((event) => (event.data as { amount: number }).amount);
    expect(amounts.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
  });

  it('concurrent sweeps never dispatch one command twice', async () => {
    const { db } = context();
    const sender = losingSends(db);
    const accountId = await givenOpenAccount(busOn(db));
    const commandIds = await sendDeposits(sender, accountId, 40);
    await age(db, commandIds);
    const sweepers = Array.from({ length: 4 }, () => sweeperOn(context().connect(2)));
    // Small batches, round after round, so the two keep meeting on the same rows.
    for (let round = 0; round < 20; round += 1) {
      const results = await Promise.all(sweepers.map((sweeper) => sweeper.sweepPendingCommands({ ...STUCK, limit: 7 })));
      if (results.every((result) => result.redispatched.length === 0)) break;
    }
    const dispatched = sweepers.flatMap((sweeper) => sweeper.dispatched).filter((id) => commandIds.includes(id));
    expect(dispatched.sort()).toEqual([...commandIds].sort());
    expect(sweepers.filter((sweeper) => sweeper.dispatched.length > 0).length).toBeGreaterThan(1);
    const { rows } = await db.query<{ attempts: number }>('SELECT attempts FROM commands WHERE command_id = ANY($1::text[])', [
      commandIds,
    ]);
    expect(rows.map((row) => row.attempts)).toEqual(commandIds.map(() => 1));
  });

  it('marks a command failed once it is out of attempts, keeping its last error, and never runs it after', async () => {
    const { db } = context();
    const sender = losingSends(db);
    const accountId = await givenOpenAccount(busOn(db));
    const [commandId = ''] = await sendDeposits(sender, accountId, 1);
    const sweeper = sweeperOn(db);
    for (const attempts of [1, 2]) {
      await age(db, [commandId]);
      expect(await sweeper.sweepPendingCommands({ ...STUCK, maxAttempts: 2 })).toEqual({ redispatched: [commandId], failed: [] });
      expect(await sweeper.getCommandStatus(commandId)).toMatchObject({ status: 'pending', attempts });
    }
    await age(db, [commandId]);
    expect(await sweeper.sweepPendingCommands({ ...STUCK, maxAttempts: 2 })).toEqual({ redispatched: [], failed: [commandId] });
    expect(sweeper.dispatched).toEqual([commandId, commandId]);
    const status = await sweeper.runPendingCommand(commandId);
    expect(status).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'MAX_ATTEMPTS_EXCEEDED', details: { attempts: 2 } } });
    expect(status?.error?.message).toMatch(/2 attempts/);
    expect(await typesOf(accountId)).toEqual(['AccountOpened']);
  });

  it('a run that fails transiently stays pending, counted, with its error, and a later run completes it', async () => {
    const { db } = context();
    const sender = losingSends(db);
    const accountId = await givenOpenAccount(busOn(db));
    const [commandId = ''] = await sendDeposits(sender, accountId, 1);
    // Every append fails as a dropped connection would: the bus retries, then gives up.
    const broken: Db = {
      ...db,
      query: (text, params, options) =>
        text.includes('INSERT INTO events') ? Promise.reject(new Error('Connection terminated unexpectedly')) : db.query(text, params, options),
    };
    const flaky = createAsyncCommands({ db, bus: busOn(broken, { attempts: 2, baseDelayMs: 1 }), dispatcher: droppingDispatcher() });
    await expect(flaky.runPendingCommand(commandId)).rejects.toThrow('Connection terminated unexpectedly');
    const status = await flaky.getCommandStatus(commandId);
    expect(status).toMatchObject({ status: 'pending', attempts: 1, error: { code: 'DATABASE_UNAVAILABLE', message: expect.stringContaining('Connection terminated unexpectedly') as unknown } });

    expect(await sender.runPendingCommand(commandId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await sender.getCommandStatus(commandId))?.error).toBeUndefined();
    expect(await typesOf(accountId)).toEqual(['AccountOpened', 'MoneyDeposited']);
  });

  it('refuses nonsense options', async () => {
    const sweeper = sweeperOn(context().db);
    await expect(sweeper.sweepPendingCommands({ limit: 0 })).rejects.toThrow(RangeError);
    await expect(sweeper.sweepPendingCommands({ olderThanMs: -1 })).rejects.toThrow(RangeError);
  });

  it('takes any page size a bigint holds, "everything" included', async () => {
    const sweeper = sweeperOn(context().db);
    await expect(sweeper.sweepPendingCommands({ limit: Number.MAX_SAFE_INTEGER })).resolves.toBeDefined();
  });

  it('refuses options the claim cannot hold (an age past any timestamp, attempts past an integer), rather than fail with the database’s error', async () => {
    const sweeper = sweeperOn(context().db);
    for (const options of [{ olderThanMs: 1e15 }, { olderThanMs: Number.MAX_VALUE }, { maxAttempts: 2 ** 31 }]) {
      await expect(sweeper.sweepPendingCommands(options), JSON.stringify(options)).rejects.toThrow(RangeError);
    }
  });
});
