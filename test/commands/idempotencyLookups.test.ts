import { expect, it } from 'vitest';
import { createCommandBus, DEFAULT_RETRY_POLICY, type CommandBus } from '../../core/commands';
import type { Db, QueryOptions } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { accountCommands } from '../support/accountCommands';
import { describeOnEachDriver } from '../support/describeOnEachDriver';

const newId = () => crypto.randomUUID();
const READS_COMMAND_RECORD = /FROM commands WHERE command_id/;

describeOnEachDriver('when the bus looks up a command id', (context) => {
  /** The database as the bus sees it, counting its lookups of command records. */
  const watched = (db: Db, intercept: (text: string) => Error | undefined = () => undefined) => {
    let lookups = 0;
    const spied: Db = {
      ...db,
      query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
        if (READS_COMMAND_RECORD.test(text)) lookups += 1;
        const result = await db.query<Row>(text, params, options);
        const failure = intercept(text);
        if (failure) throw failure;
        return result;
      },
    };
    return { db: spied, lookups: () => lookups };
  };
  const busOn = (db: Db, onRetry?: () => void): CommandBus =>
    createCommandBus({
      db,
      commands: accountCommands(db, createEventStore(db)),
      retry: { ...DEFAULT_RETRY_POLICY, attempts: 5, maxDelayMs: 10 },
      ...(onRetry ? { onRetry } : {}),
    });
  const givenOpenAccount = async () => {
    const accountId = newId();
    await busOn(context().db).execute({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' } });
    return accountId;
  };
  const depositsOf = async (accountId: string) =>
    (await context().store.readStream(`account-${accountId}`)).events.filter((event) => event.type === 'MoneyDeposited');

  it('skips the lookup on the first try of a command whose id it created, since no earlier run can exist', async () => {
    const accountId = await givenOpenAccount();
    const { db, lookups } = watched(context().db);
    const outcome = await busOn(db).execute({ type: 'Deposit', payload: { accountId, amount: 5 } });
    expect(outcome).toMatchObject({ replayed: false, version: 2 });
    expect(lookups()).toBe(0);
  });

  it('looks up a command id the caller chose, since the caller may be sending it again', async () => {
    const accountId = await givenOpenAccount();
    const { db, lookups } = watched(context().db);
    const request = { type: 'Deposit', payload: { accountId, amount: 5 }, commandId: newId() };
    await busOn(db).execute(request);
    expect(lookups()).toBe(1);
    expect(await busOn(db).execute(request)).toMatchObject({ replayed: true });
    expect(await depositsOf(accountId)).toHaveLength(1);
  });

  it('looks up on a retry: an append that committed but lost its reply is replayed, not applied twice', async () => {
    const accountId = await givenOpenAccount();
    let repliesLost = 0;
    // The first append commits on the server; then the way back fails, as a dropped connection would.
    const { db, lookups } = watched(context().db, (text) => {
      if (repliesLost > 0 || !text.includes('INSERT INTO events')) return undefined;
      repliesLost += 1;
      return new Error('Connection terminated unexpectedly');
    });
    let retries = 0;
    const outcome = await busOn(db, () => {
      retries += 1;
    }).execute({ type: 'Deposit', payload: { accountId, amount: 5 } });

    expect(repliesLost).toBe(1);
    expect(retries).toBe(1);
    expect(lookups()).toBe(1);
    const deposits = await depositsOf(accountId);
    expect(deposits).toHaveLength(1);
    expect(outcome).toMatchObject({ replayed: true, version: 2, events: [{ eventId: deposits[0]?.eventId }] });
  });
});
