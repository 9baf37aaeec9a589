import { expect, it } from 'vitest';
import { createRepository } from '../../core/aggregates';
import { EventValidationError, START_OF_FEED, createEventStore, type EventStore } from '../../core/eventstore';
import { UpcastError } from '../../core/upcasting';
import { account, deposit } from '../support/accountAggregate';
import { accountUpcasters } from '../support/accountUpcasters';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { readThrough } from '../support/followFeed';

interface OldEvent {
  type: string;
  schemaVersion: number;
  data: object;
}

describeOnEachDriver('upcasting on every read path', (context) => {
  const store = (): EventStore => createEventStore(context().db, { upcaster: accountUpcasters });

  /** Writes events straight into the tables, as last year's code stored them. */
  const givenStoredLongAgo = async (events: OldEvent[]) => {
    const streamId = `account-${crypto.randomUUID()}`;
    const ids = events.map(() => crypto.randomUUID());
    await context().db.transaction(async (tx) => {
      for (const [index, event] of events.entries()) {
        await tx.query(
          `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata)
           VALUES ($1, 'account', $2, $3, $4, $5, $6, '{"correlationId": "old"}')`,
          [streamId, index + 1, ids[index], event.type, event.schemaVersion, JSON.stringify(event.data)],
        );
      }
    });
    return { streamId, ids };
  };

  const history: OldEvent[] = [
    { type: 'AccountOpened', schemaVersion: 1, data: { owner: 'ada', currency: 'EUR' } },
    { type: 'FundsAdded', schemaVersion: 1, data: { sum: '10.00' } },
    { type: 'MoneyDeposited', schemaVersion: 1, data: { sum: '2.50' } },
    { type: 'MoneyDeposited', schemaVersion: 2, data: { amount: '0.25' } },
    { type: 'MoneyDeposited', schemaVersion: 3, data: { amount: 5 } },
    { type: 'MoneyDeposited', schemaVersion: 4, data: { amount: 1, currency: 'USD' } },
  ];
  const current = [
    { type: 'AccountOpened', schemaVersion: 1, data: { owner: 'ada', currency: 'EUR' } },
    { type: 'MoneyDeposited', schemaVersion: 4, data: { amount: 1000, currency: 'EUR' } },
    { type: 'MoneyDeposited', schemaVersion: 4, data: { amount: 250, currency: 'EUR' } },
    { type: 'MoneyDeposited', schemaVersion: 4, data: { amount: 25, currency: 'EUR' } },
    { type: 'MoneyDeposited', schemaVersion: 4, data: { amount: 5, currency: 'EUR' } },
    { type: 'MoneyDeposited', schemaVersion: 4, data: { amount: 1, currency: 'USD' } },
  ];
  const shapes = (events: { type: string; schemaVersion: number; data: object }[]) =>
    events.map(({ type, schemaVersion, data }) => ({ type, schemaVersion, data }));

  it('stream reads return current shapes', async () => {
    const { streamId } = await givenStoredLongAgo(history);
    const slice = await store().readStream(streamId);
    expect(shapes(slice.events)).toEqual(current);
    expect(slice.events.every((event) => event.metadata.correlationId === 'old')).toBe(true);
  });

  it('single-event reads return the current shape', async () => {
    const { ids } = await givenStoredLongAgo(history);
    expect(shapes([await store().readEvent(ids[1] ?? '')].flatMap((event) => (event ? [event] : [])))).toEqual([current[1]]);
  });

  it('the feed returns current shapes, and a filter on the new type name finds events stored under the old one', async () => {
    const { streamId } = await givenStoredLongAgo(history);
    const through = (await store().readStream(streamId)).events.at(-1);
    const target = { txId: through?.txId ?? 0n, position: through?.globalPosition ?? 0n };

    const all = await readThrough(store(), START_OF_FEED, target);
    expect(shapes(all.events.filter((event) => event.streamId === streamId))).toEqual(current);
    const deposits = await readThrough(store(), START_OF_FEED, target, { eventTypes: ['MoneyDeposited'] });
    expect(shapes(deposits.events.filter((event) => event.streamId === streamId))).toEqual(current.slice(1));
  });

  it('aggregate loads see current shapes', async () => {
    const { streamId } = await givenStoredLongAgo(history);
    const accounts = createRepository(context().db, store(), account);
    const loaded = await accounts.load(streamId.replace('account-', ''));
    expect(loaded.state).toMatchObject({ status: 'open', balance: 1000 + 250 + 25 + 5 + 1, movements: 5 });
  });

  it('new events are written at the current schema version', async () => {
    const { streamId } = await givenStoredLongAgo(history);
    const accounts = createRepository(context().db, store(), account);
    await accounts.handle(streamId.replace('account-', ''), deposit(7));
    const { rows } = await context().db.query<{ schema_version: number; data: object }>(
      'SELECT schema_version, data FROM events WHERE stream_id = $1 AND version = 7',
      [streamId],
    );
    expect(rows).toEqual([{ schema_version: 4, data: { amount: 7, currency: 'EUR' } }]);
  });

  it('refuses to write a renamed type or an old schema version', async () => {
    const streamId = `account-${crypto.randomUUID()}`;
    const append = (events: { type: string; data: object; schemaVersion?: number }[]) =>
      store().appendToStream({ streamId, streamType: 'account', expectedVersion: 'any', events });
    await expect(append([{ type: 'FundsAdded', data: { sum: '1' } }])).rejects.toThrow(/FundsAdded was renamed to MoneyDeposited/);
    await expect(append([{ type: 'MoneyDeposited', schemaVersion: 2, data: { amount: '1' } }])).rejects.toBeInstanceOf(
      EventValidationError,
    );
  });

  it('an event with no path to the current version fails every read path, naming its type and version', async () => {
    const { streamId, ids } = await givenStoredLongAgo([
      { type: 'AccountOpened', schemaVersion: 1, data: { owner: 'ada', currency: 'EUR' } },
      { type: 'MoneyDeposited', schemaVersion: 9, data: {} },
    ]);
    const naming = /MoneyDeposited at schema version 9/;
    // Readable from the feed within readThrough's time, whatever other files' transactions hold its horizon back.
    await untilFeedHorizonPasses(context().db);
    await expect(store().readStream(streamId)).rejects.toThrow(UpcastError);
    await expect(store().readStream(streamId)).rejects.toThrow(naming);
    await expect(store().readEvent(ids[1] ?? '')).rejects.toThrow(naming);
    const accounts = createRepository(context().db, store(), account);
    await expect(accounts.load(streamId.replace('account-', ''))).rejects.toThrow(naming);
    await expect(readThrough(store(), START_OF_FEED, { txId: 2n ** 60n, position: 0n }, {}, 2_000)).rejects.toThrow(naming);
  });
});
