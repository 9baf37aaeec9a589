import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asDatabaseError, createPgliteDb, DEFAULT_MIGRATIONS_DIRECTORY, migrate, type PgliteDb } from '../../core/db';
import {
  AppendNotFirstWriteError,
  ConcurrencyError,
  createEventStore,
  DuplicateEventError,
  START_OF_FEED,
  StreamNotFoundError,
  type AppendRequest,
  type EventStore,
} from '../../core/eventstore';
import { deposited, opened, uniqueStreamId, withdrawn, type AccountEvent } from '../support/fixtures';

const migrationFiles = async () =>
  (await readdir(DEFAULT_MIGRATIONS_DIRECTORY)).filter((name) => name.endsWith('.sql')).sort();

// The event store on an embedded PGlite: the project's migrations as they are, and a
// representative subset of the event-store specs that run on pg and Neon.
describe('the event store on PGlite in memory', () => {
  let db: PgliteDb;
  let store: EventStore;
  let applied: string[];
  beforeAll(async () => {
    db = createPgliteDb();
    applied = await migrate(db);
    store = createEventStore(db);
  });
  afterAll(() => db.close());

  const append = (request: Omit<AppendRequest<AccountEvent>, 'streamType'>) =>
    store.appendToStream<AccountEvent>({ streamType: 'account', ...request });
  const versionsOf = async (streamId: string) => (await store.readStream(streamId)).events.map((event) => event.version);

  it('applies every migration once', async () => {
    expect(applied).toEqual(await migrationFiles());
    expect(await migrate(db)).toEqual([]);
  });

  it('enforces each expected-version mode, with ConcurrencyError carrying the actual version', async () => {
    const streamId = uniqueStreamId();
    await expect(append({ streamId, expectedVersion: 'stream_exists', events: [opened()] })).rejects.toBeInstanceOf(StreamNotFoundError);
    expect((await append({ streamId, expectedVersion: 'no_stream', events: [opened()] })).nextExpectedVersion).toBe(1);
    await expect(append({ streamId, expectedVersion: 'no_stream', events: [opened()] })).rejects.toMatchObject({
      constructor: ConcurrencyError,
      expectedVersion: 'no_stream',
      actualVersion: 1,
    });
    expect((await append({ streamId, expectedVersion: 1, events: [deposited(5)] })).nextExpectedVersion).toBe(2);
    await expect(append({ streamId, expectedVersion: 1, events: [withdrawn(5)] })).rejects.toMatchObject({
      constructor: ConcurrencyError,
      expectedVersion: 1,
      actualVersion: 2,
    });
    expect((await append({ streamId, expectedVersion: 'stream_exists', events: [deposited(1)] })).nextExpectedVersion).toBe(3);
    expect((await append({ streamId, expectedVersion: 'any', events: [withdrawn(1)] })).nextExpectedVersion).toBe(4);
    expect(await versionsOf(streamId)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a stored event id, writing nothing (the constraint name comes through)', async () => {
    const streamId = uniqueStreamId();
    const eventId = crypto.randomUUID();
    await append({ streamId, expectedVersion: 'no_stream', events: [{ ...opened(), eventId }] });
    const retry = append({ streamId, expectedVersion: 1, events: [deposited(1), { ...deposited(2), eventId }] });
    await expect(retry).rejects.toBeInstanceOf(DuplicateEventError);
    expect(await versionsOf(streamId)).toEqual([1]);
  });

  it('reads a range of a stream, and bigint columns come back as on pg', async () => {
    const streamId = uniqueStreamId();
    const result = await append({ streamId, expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2), withdrawn(3)] });
    const slice = await store.readStream<AccountEvent>(streamId, { fromVersion: 2, toVersion: 3 });
    expect(slice.streamVersion).toBe(4);
    expect(slice.events.map((event) => [event.version, event.data])).toEqual([[2, { amount: 1 }], [3, { amount: 2 }]]);
    expect(slice.events[0]?.globalPosition).toBe(result.events[1]?.globalPosition);
    expect(slice.events[0]?.recordedAt).toBeInstanceOf(Date);
    const raw = await db.query<{ global_position: unknown }>('SELECT global_position FROM events LIMIT 1');
    expect(typeof raw.rows[0]?.global_position).toBe('string');
  });

  it('returns rows as arrays of their values, with and without parameters, also in a transaction, as on pg', async () => {
    const sql = "SELECT 2::bigint AS big, '{\"a\":1}'::jsonb AS doc, NULL::int AS nothing";
    expect((await db.query<[string, object, null]>(sql, [], { rowMode: 'array' })).rows).toEqual([['2', { a: 1 }, null]]);
    expect((await db.query<[string, string]>('SELECT $1::text, 3::bigint', ['x'], { rowMode: 'array' })).rows).toEqual([['x', '3']]);
    const inTransaction = await db.transaction((tx) => tx.query<[number]>('SELECT n FROM generate_series(1, $1::int) AS n ORDER BY n', [2], { rowMode: 'array' }));
    expect(inTransaction.rows).toEqual([[1], [2]]);
  });

  it('follows the feed by checkpoint, in pages, with filters, up to an append\'s checkpoint', async () => {
    const streamId = uniqueStreamId();
    const last = await append({ streamId, expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
    const seen: string[] = [];
    let checkpoint = START_OF_FEED;
    for (let pages = 0; pages < 100; pages += 1) {
      const page = await store.readFeed({ after: checkpoint, batchSize: 2 });
      seen.push(...page.events.filter((event) => event.streamId === streamId).map((event) => event.type));
      checkpoint = page.checkpoint;
      if (page.caughtUp) break;
    }
    expect(seen).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyDeposited']);
    expect(checkpoint).toEqual(last.checkpoint);
    const filtered = await store.readFeed({ after: START_OF_FEED, eventTypes: ['AccountOpened'], streamTypes: ['account'] });
    expect(filtered.events.every((event) => event.type === 'AccountOpened')).toBe(true);
    expect(filtered.checkpoint).toEqual(last.checkpoint);
  });

  it('rejects UPDATE, DELETE and TRUNCATE on events', async () => {
    for (const statement of ['UPDATE events SET type = type', 'DELETE FROM events', 'TRUNCATE events']) {
      const error = await db.query(statement).catch((caught: unknown) => caught);
      expect(asDatabaseError(error)).toMatchObject({ code: 'ES403' });
    }
  });

  it('rolls back an append whose transaction fails, and refuses an append that is not the first write', async () => {
    const streamId = uniqueStreamId();
    const failing = db.transaction(async (tx) => {
      await store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx);
      throw new Error('changed my mind');
    });
    await expect(failing).rejects.toThrow('changed my mind');
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
    const late = db.transaction(async (tx) => {
      await tx.query('INSERT INTO snapshots (stream_id, schema_version, version, state) VALUES ($1, 1, 1, $2)', [streamId, {}]);
      await store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'any', events: [opened()] }, tx);
    });
    await expect(late).rejects.toBeInstanceOf(AppendNotFirstWriteError);
    expect((await db.query('SELECT 1 FROM snapshots WHERE stream_id = $1', [streamId])).rowCount).toBe(0);
  });
});

describe('PGlite with a data directory', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pglite-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('keeps the schema and the events across close and reopen, creating missing parent folders', async () => {
    const dataDir = path.join(root, 'nested', 'pglite');
    const streamId = uniqueStreamId();
    const first = createPgliteDb({ dataDir });
    expect(await migrate(first)).toEqual(await migrationFiles());
    await createEventStore(first).appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(7)] });
    await first.close();
    await first.close();

    const second = createPgliteDb({ dataDir });
    try {
      expect(await migrate(second)).toEqual([]);
      const store = createEventStore(second);
      await store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 2, events: [withdrawn(7)] });
      const slice = await store.readStream<AccountEvent>(streamId);
      expect(slice.events.map((event) => event.type)).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn']);
    } finally {
      await second.close();
    }
  });
});
