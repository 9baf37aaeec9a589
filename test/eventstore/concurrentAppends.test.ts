import { expect, it } from 'vitest';
import {
  ConcurrencyError,
  createEventStore,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
} from '../../core/eventstore';
import type { Db, Queryable } from '../../core/db';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';

// The 50 racing appenders, a connection each: with the file's own pool of 8,
// 58 connections, which leaves room for the file running beside it under PostgreSQL's
// 100 (see vitest.config.ts).
const APPENDERS = 50;

/** Opens every connection up front, so the appenders really run at the same moment. */
async function warmPool(db: Db, size: number): Promise<void> {
  await Promise.all(Array.from({ length: size }, () => db.query('SELECT pg_sleep(0.05)')));
}

/** Runs `work` on a warm pool of one connection per appender, closed afterwards to stay under max_connections. */
async function withAppenderPool<T>(open: (max: number) => Db, work: (store: EventStore) => Promise<T>): Promise<T> {
  const db = open(APPENDERS);
  try {
    await warmPool(db, APPENDERS);
    return await work(createEventStore(db));
  } finally {
    await db.close();
  }
}

/**
 * Waits until a session of this file's database waits on a lock, as an append
 * held up by another transaction's does; or until `settled` says the append
 * ended without waiting, which the spec then reports.
 */
async function untilSomeoneWaitsOnALock(db: Queryable, settled: () => boolean): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    const { rows } = await db.query<{ waiting: boolean }>(
      "SELECT exists (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock') AS waiting",
    );
    if (rows[0]?.waiting || settled()) return;
    if (Date.now() > giveUpAt) throw new Error('the racing append neither waited on a lock nor settled');
    await sleep(20);
  }
}

describeOnEachDriver('concurrent appends to one stream', (context) => {
  const raceAppends = (streamId: string, expectedVersion: ExpectedVersion) =>
    withAppenderPool(context().connect, (store) =>
      Promise.allSettled(
        Array.from({ length: APPENDERS }, (_, index) =>
          store.appendToStream({ streamId, streamType: 'account', expectedVersion, events: [deposited(index + 1)] }),
        ),
      ),
    );
  const versionsOf = async (streamId: string) =>
    (await context().store.readStream(streamId)).events.map((event) => event.version);

  it(`${APPENDERS} appenders with the same expected version: exactly one wins, the rest get ConcurrencyError`, async () => {
    const streamId = uniqueStreamId();
    await context().store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

    const outcomes = await raceAppends(streamId, 1);

    const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const losers = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(APPENDERS - 1);
    for (const loser of losers) {
      expect(loser).toMatchObject({ constructor: ConcurrencyError, expectedVersion: 1, actualVersion: 2 });
    }
    expect(await versionsOf(streamId)).toEqual([1, 2]);
  });

  it(`${APPENDERS} appenders creating the same stream: exactly one creates it`, async () => {
    const streamId = uniqueStreamId();
    const outcomes = await raceAppends(streamId, 'no_stream');
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(await versionsOf(streamId)).toEqual([1]);
  });

  it(`${APPENDERS} appenders with "any": all land, versions 1..${APPENDERS} without gaps`, async () => {
    const streamId = uniqueStreamId();
    const outcomes = await raceAppends(streamId, 'any');
    expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    const versions = await versionsOf(streamId);
    expect(versions).toEqual(Array.from({ length: APPENDERS }, (_, index) => index + 1));
    // Each appended amount is stored exactly once.
    const amounts = (await context().store.readStream(streamId)).events.map((event) => (event.data as { amount: number }).amount);
    expect(amounts.sort((a, b) => a - b)).toEqual(Array.from({ length: APPENDERS }, (_, index) => index + 1));
  });

  it(`${APPENDERS} appenders with "any" and with "stream_exists" on a database whose default isolation is repeatable read: all land, no gaps`, async () => {
    const { db, databaseUrl } = context();
    const database = new URL(databaseUrl).pathname.slice(1);
    // New connections (the appenders' pool) start their transactions at repeatable read unless told otherwise.
    await db.query(`ALTER DATABASE ${database} SET default_transaction_isolation = 'repeatable read'`);
    try {
      const streamId = uniqueStreamId();
      await context().store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      const outcomes = [...(await raceAppends(streamId, 'any')), ...(await raceAppends(streamId, 'stream_exists'))];
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      expect(await versionsOf(streamId)).toEqual(Array.from({ length: 2 * APPENDERS + 1 }, (_, index) => index + 1));
    } finally {
      await db.query(`ALTER DATABASE ${database} RESET default_transaction_isolation`);
    }
  });

  it(`${APPENDERS} appenders that re-read and retry on conflict: every append lands once, no gaps`, async () => {
    const streamId = uniqueStreamId();
    await context().store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    let conflicts = 0;
    const appendWithRetry = async (store: EventStore, amount: number): Promise<AppendResult> => {
      for (;;) {
        const { streamVersion } = await store.readStream(streamId, { fromVersion: Number.MAX_SAFE_INTEGER });
        try {
          return await store.appendToStream({ streamId, streamType: 'account', expectedVersion: streamVersion, events: [deposited(amount)] });
        } catch (error) {
          if (!(error instanceof ConcurrencyError)) throw error;
          conflicts += 1;
        }
      }
    };

    await withAppenderPool(context().connect, (store) =>
      Promise.all(Array.from({ length: APPENDERS }, (_, index) => appendWithRetry(store, index + 1))),
    );

    expect(conflicts).toBeGreaterThan(0);
    expect(await versionsOf(streamId)).toEqual(Array.from({ length: APPENDERS + 1 }, (_, index) => index + 1));
  });

  it('an append at the version an open transaction is appending waits for it, then fails with the version it wrote', async () => {
    const { db, store } = context();
    const streamId = uniqueStreamId();
    await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

    let racing: Promise<AppendResult> | undefined;
    let settled = false;
    let settledWhileOpen: boolean | undefined;
    await db.transaction(async (tx) => {
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 1, events: [deposited(1)] }, tx);
      racing = store.appendToStream({ streamId, streamType: 'account', expectedVersion: 1, events: [deposited(2)] });
      racing.then(() => (settled = true), () => (settled = true));
      await untilSomeoneWaitsOnALock(db, () => settled);
      // Read before the commit: once it is sent, the racing append may settle before this callback's caller resumes.
      settledWhileOpen = settled;
    });

    expect(settledWhileOpen).toBe(false);
    await expect(racing).rejects.toMatchObject({ constructor: ConcurrencyError, expectedVersion: 1, actualVersion: 2 });
    expect((await store.readStream(streamId)).events.map((event) => (event.data as { amount?: number }).amount)).toEqual([
      undefined,
      1,
    ]);
  });
});
