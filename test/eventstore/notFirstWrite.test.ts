import { expect, it } from 'vitest';
import { AppendNotFirstWriteError, StreamNotFoundError, type ExpectedVersion } from '../../core/eventstore';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { deferred, deposited, opened, uniqueStreamId } from '../support/fixtures';

// Long enough that a refusal waiting for the other writer is told apart from one given at once.
const OTHER_WRITER_HOLDS_MS = 5_000;

describeOnEachDriver('an append that is not its transaction’s first write', (context) => {
  it.each<ExpectedVersion>([1, 'any', 'stream_exists'])(
    'given another writer holding the stream, when appended with expected version %s after an append to another stream, then it is refused before that writer ends',
    async (expectedVersion) => {
      const { db, store } = context();
      const [first, held] = [uniqueStreamId(), uniqueStreamId()];
      await store.appendToStream({ streamId: held, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      const otherHolds = deferred();
      const otherMayEnd = deferred();
      const other = db.transaction(async (tx) => {
        await store.appendToStream({ streamId: held, streamType: 'account', expectedVersion: 'any', events: [deposited(1)] }, tx);
        otherHolds.resolve();
        await otherMayEnd.promise;
      });
      await otherHolds.promise;
      let otherEndedFirst = false;
      const fallback = setTimeout(() => {
        otherEndedFirst = true;
        otherMayEnd.resolve();
      }, OTHER_WRITER_HOLDS_MS);

      const refusal = await db
        .transaction(async (tx) => {
          await store.appendToStream({ streamId: first, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx);
          return store.appendToStream({ streamId: held, streamType: 'account', expectedVersion, events: [deposited(2)] }, tx);
        })
        .then(() => undefined, (error: unknown) => error);
      const refusedWhileOtherHeld = !otherEndedFirst;
      clearTimeout(fallback);
      otherMayEnd.resolve();
      await other;

      expect(refusal).toBeInstanceOf(AppendNotFirstWriteError);
      expect(refusedWhileOtherHeld).toBe(true);
    },
  );

  it('given two transfers each way between two streams, each appending "any" to one and then the other, then both are refused, neither deadlocks', async () => {
    const { db, store } = context();
    const [a, b] = [uniqueStreamId(), uniqueStreamId()];
    const appended = { a: deferred(), b: deferred() };
    const transfer = (from: string, to: string, mine: { resolve: () => void }, theirs: { promise: Promise<void> }) =>
      db
        .transaction(async (tx) => {
          await store.appendToStream({ streamId: from, streamType: 'account', expectedVersion: 'any', events: [deposited(1)] }, tx);
          mine.resolve();
          await theirs.promise;
          return store.appendToStream({ streamId: to, streamType: 'account', expectedVersion: 'any', events: [deposited(2)] }, tx);
        })
        .then(() => 'committed', (error: unknown) => error);

    const outcomes = await Promise.all([transfer(a, b, appended.a, appended.b), transfer(b, a, appended.b, appended.a)]);

    expect(outcomes.map((outcome) => outcome instanceof AppendNotFirstWriteError)).toEqual([true, true]);
    // Both transactions rolled back: neither stream was written.
    await expect(store.readStream(a)).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(store.readStream(b)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describeOnEachDriver('what counts as a write before an append', (context) => {
  it('given a transaction that locked a row, when it appends, then it is refused and nothing is stored', async () => {
    const { db, store } = context();
    const [locked, appended] = [uniqueStreamId(), uniqueStreamId()];
    await store.appendToStream({ streamId: locked, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

    const refusal = await db
      .transaction(async (tx) => {
        await tx.query('SELECT FROM events WHERE stream_id = $1 FOR SHARE', [locked]);
        return store.appendToStream({ streamId: appended, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx);
      })
      .then(() => undefined, (error: unknown) => error);

    expect(refusal).toBeInstanceOf(AppendNotFirstWriteError);
    await expect(store.readStream(appended)).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('given transactions that each take a sequence value first, when each appends, then those whose nextval logged the sequence are refused, naming it, and the others stored', async () => {
    const { db, store } = context();
    const sequence = `numbers_${crypto.randomUUID().replaceAll('-', '')}`;
    await db.query(`CREATE SEQUENCE ${sequence}`);
    const streams = Array.from({ length: 40 }, () => uniqueStreamId());

    const outcomes = [];
    for (const streamId of streams) {
      outcomes.push(
        await db
          .transaction(async (tx) => {
            await tx.query('SELECT nextval($1)', [sequence]);
            await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx);
            return 'stored';
          })
          .catch((error: unknown) => error),
      );
    }

    // PostgreSQL logs a sequence once every 33 values (the first call among them), whichever session takes them.
    const refused = outcomes.filter((outcome) => outcome instanceof AppendNotFirstWriteError);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThan(outcomes.length);
    expect(outcomes.filter((outcome) => outcome !== 'stored' && !(outcome instanceof AppendNotFirstWriteError))).toEqual([]);
    for (const refusal of refused) expect(String(refusal)).toMatch(/row lock .* or logged nextval gave the transaction an older id/);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE stream_id = ANY($1)', [streams]);
    expect(rows).toEqual([{ n: outcomes.length - refused.length }]);
  });

  it('given a transaction that only read and took an advisory lock, when it appends, then the append is stored', async () => {
    const { db, store } = context();
    const [read, appended] = [uniqueStreamId(), uniqueStreamId()];
    await store.appendToStream({ streamId: read, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

    await db.transaction(async (tx) => {
      await tx.query('SELECT count(*) FROM events WHERE stream_id = $1', [read]);
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [appended]);
      await store.appendToStream({ streamId: appended, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx);
    });

    expect((await store.readStream(appended)).events.map((event) => event.type)).toEqual(['AccountOpened']);
  });

  it.each<[ExpectedVersion, ExpectedVersion]>([
    ['any', 'any'],
    ['stream_exists', 'stream_exists'],
    ['any', 1],
    [1, 'stream_exists'],
  ])(
    'given two appends with expected versions %s and %s sent at once in one transaction (the second a moment later), when the second is refused as not the first write, then the first stays stored',
    async (firstVersion, secondVersion) => {
      const { db, store } = context();
      const [a, b] = [uniqueStreamId(), uniqueStreamId()];
      for (const streamId of [a, b]) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

      // The second sent a few microtasks later, as after a repository's load of its aggregate.
      const later = async () => {
        for (let hop = 0; hop < 5; hop += 1) await Promise.resolve();
      };
      const [first, second] = await db.transaction((tx) =>
        Promise.allSettled([
          store.appendToStream({ streamId: a, streamType: 'account', expectedVersion: firstVersion, events: [deposited(1)] }, tx),
          later().then(() => store.appendToStream({ streamId: b, streamType: 'account', expectedVersion: secondVersion, events: [deposited(2)] }, tx)),
        ]),
      );

      expect(first.status).toBe('fulfilled');
      expect(second.status === 'rejected' && second.reason instanceof AppendNotFirstWriteError).toBe(true);
      expect((await store.readStream(a)).events.map((event) => event.type)).toEqual(['AccountOpened', 'MoneyDeposited']);
      expect((await store.readStream(b)).events.map((event) => event.type)).toEqual(['AccountOpened']);
    },
  );

  it('given an exact append and a read of its stream sent right after it in one transaction without waiting, then the read sees what it appended: the append\'s one statement went first', async () => {
    const { db, store } = context();
    const streamId = uniqueStreamId();

    const [, counted] = await db.transaction((tx) =>
      Promise.all([
        store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx),
        tx.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE stream_id = $1', [streamId]),
      ]),
    );

    expect(counted.rows[0]?.n).toBe(1);
  });

  it.each<ExpectedVersion>(['any', 'stream_exists'])(
    'given an append with expected version %s and a write of the caller\'s own sent right after it without waiting, then the append is refused as not the first write and the write stays',
    async (expectedVersion) => {
      const { db, store } = context();
      const streamId = uniqueStreamId();
      await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      const table = `caller_rows_${String(expectedVersion)}`;
      await db.query(`CREATE TABLE IF NOT EXISTS ${table} (stream_id text)`);

      const [appended, written] = await db.transaction((tx) =>
        Promise.allSettled([
          store.appendToStream({ streamId, streamType: 'account', expectedVersion, events: [deposited(1)] }, tx),
          tx.query(`INSERT INTO ${table} VALUES ($1)`, [streamId]),
        ]),
      );

      expect(appended.status === 'rejected' && appended.reason instanceof AppendNotFirstWriteError).toBe(true);
      expect(written.status).toBe('fulfilled');
      expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE stream_id = $1`, [streamId])).rows[0]?.n).toBe(1);
      expect((await store.readStream(streamId)).events).toHaveLength(1);
    },
  );
});
