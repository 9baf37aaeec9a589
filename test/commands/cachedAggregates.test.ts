import { expect, it } from 'vitest';
import { createCommandBus, DEFAULT_RETRY_POLICY, type CommandBus } from '../../core/commands';
import type { Db, QueryOptions } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { accountCommands } from '../support/accountCommands';
import { describeOnEachDriver } from '../support/describeOnEachDriver';

const newId = () => crypto.randomUUID();
const LOADS_AGGREGATE = /LEFT JOIN snapshots/;

/**
 * The repository keeps the state each command wrote, so the next command on
 * that aggregate in this process appends without loading it. These specs show
 * that a kept state never decides anything the stored state would not.
 */
describeOnEachDriver('commands on aggregates this process wrote before', (context) => {
  /** A bus of its own (so a cache of its own), counting the aggregate loads it makes. */
  const countingBus = (): { bus: CommandBus; loads: () => number } => {
    const db = context().db;
    let loads = 0;
    const counted: Db = {
      ...db,
      query: <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
        if (LOADS_AGGREGATE.test(text)) loads += 1;
        return db.query<Row>(text, params, options);
      },
    };
    const bus = createCommandBus({
      db: counted,
      commands: accountCommands(counted, createEventStore(counted)),
      retry: { ...DEFAULT_RETRY_POLICY, attempts: 5, maxDelayMs: 10 },
    });
    return { bus, loads: () => loads };
  };
  const open = (bus: CommandBus, accountId: string) =>
    bus.execute({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' } });
  const balanceOf = async (accountId: string) =>
    (await context().store.readStream(`account-${accountId}`)).events.reduce((balance, event) => {
      const { amount } = event.data as { amount?: number };
      return event.type === 'MoneyDeposited' ? balance + (amount ?? 0) : event.type === 'MoneyWithdrawn' ? balance - (amount ?? 0) : balance;
    }, 0);

  it('appends without loading once the process holds the latest state', async () => {
    const { bus, loads } = countingBus();
    const accountId = newId();
    await open(bus, accountId);
    const before = loads();
    for (let deposit = 1; deposit <= 5; deposit += 1) await bus.execute({ type: 'Deposit', payload: { accountId, amount: 10 } });
    expect(loads()).toBe(before);
    expect(await balanceOf(accountId)).toBe(50);
  });

  it('notices another writer through the append, and the retry decides on the stored state', async () => {
    const mine = countingBus();
    const other = countingBus();
    const accountId = newId();
    await open(mine.bus, accountId);
    await mine.bus.execute({ type: 'Deposit', payload: { accountId, amount: 10 } });
    // Another process moves the account on; this one still holds version 2.
    await other.bus.execute({ type: 'Deposit', payload: { accountId, amount: 5 } });

    const outcome = await mine.bus.execute({ type: 'Withdraw', payload: { accountId, amount: 15 } });
    expect(outcome).toMatchObject({ version: 4, events: [{ type: 'MoneyWithdrawn' }] });
    expect(await balanceOf(accountId)).toBe(0);
  });

  it('refuses nothing on a stale state: a rule the kept state breaks is checked against the stored one', async () => {
    const mine = countingBus();
    const other = countingBus();
    const accountId = newId();
    await open(mine.bus, accountId);
    await other.bus.execute({ type: 'Deposit', payload: { accountId, amount: 100 } });

    // The kept state has a balance of 0, which would refuse this withdrawal.
    const outcome = await mine.bus.execute({ type: 'Withdraw', payload: { accountId, amount: 60 } });
    expect(outcome).toMatchObject({ version: 3 });
    expect(await balanceOf(accountId)).toBe(40);
    await expect(mine.bus.execute({ type: 'Withdraw', payload: { accountId, amount: 41 } })).rejects.toMatchObject({
      rule: 'INSUFFICIENT_FUNDS',
    });
  });

  it('answers a command that decides nothing from the stored state, not the kept one', async () => {
    const mine = countingBus();
    const other = countingBus();
    const accountId = newId();
    await open(mine.bus, accountId);
    await other.bus.execute({ type: 'CloseAccount', payload: { accountId } });

    // The kept state is open, so closing appends, expecting version 1: the conflict sends it to the stored state,
    // on which closing again decides nothing, and the outcome names the stream's real version.
    const outcome = await mine.bus.execute({ type: 'CloseAccount', payload: { accountId } });
    expect(outcome).toMatchObject({ version: 2, events: [] });
  });
});
