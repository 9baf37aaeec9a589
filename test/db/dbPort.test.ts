import { describe, expect, it } from 'vitest';
import { asDatabaseError, createDb, DatabaseTimeoutError, dbConfigFromEnv, DEFAULT_DATABASE_URL, TransactionAbortedError, type Db } from '../../core/db';
import { describeOnEachDriver } from '../support/describeOnEachDriver';

describeOnEachDriver('the Db port', (context) => {
  const setup = async () => {
    const name = `t_${Math.random().toString(36).slice(2)}`;
    await context().db.query(`CREATE TABLE ${name} (id int PRIMARY KEY)`);
    const count = async () => (await context().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`)).rows[0]?.n;
    return { name, count };
  };

  it('runs parameterised queries and reports rows and row counts', async () => {
    const result = await context().db.query<{ sum: number; text: string }>('SELECT $1::int + $2::int AS sum, $3::text AS text', [2, 3, 'x']);
    expect(result.rows).toEqual([{ sum: 5, text: 'x' }]);
    expect(result.rowCount).toBe(1);
  });

  it('commits a transaction whose work succeeds and returns its value', async () => {
    const { name, count } = await setup();
    const value = await context().db.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${name} VALUES (1), (2)`);
      return 'done';
    });
    expect(value).toBe('done');
    expect(await count()).toBe(2);
  });

  it('rolls back a transaction whose work throws, and rethrows the error', async () => {
    const { name, count } = await setup();
    await expect(
      context().db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${name} VALUES (1)`);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await count()).toBe(0);
  });

  it('reports a transaction whose work swallowed a failed statement as rolled back, not committed', async () => {
    const { name, count } = await setup();
    const swallowing = context().db.transaction(async (tx) => {
      await tx.query(`INSERT INTO ${name} VALUES (1)`);
      await tx.query('SELECT 1/0').catch(() => undefined);
      return 'looks fine';
    });
    await expect(swallowing).rejects.toBeInstanceOf(TransactionAbortedError);
    expect(await count()).toBe(0);
  });

  it('keeps serving after failed transactions on a one-connection pool', async () => {
    const db = context().connect(1);
    const { name } = await setup();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      await expect(db.transaction((tx) => tx.query(`INSERT INTO ${name} VALUES (1), (1)`))).rejects.toThrow();
    }
    await db.transaction((tx) => tx.query(`INSERT INTO ${name} VALUES (7)`));
    expect((await db.query<{ id: number }>(`SELECT id FROM ${name}`)).rows).toEqual([{ id: 7 }]);
  });

  const backendPid = async (db: Db) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;

  it('keeps the connection after a refused statement or a rolled-back transaction', async () => {
    const db = context().connect(1);
    const before = await backendPid(db);
    await expect(db.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
    await expect(
      db.transaction(() => {
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await backendPid(db)).toBe(before);
  });

  it('replaces a connection the server dropped', async () => {
    const db = context().connect(1);
    const before = await backendPid(db);
    await context().db.query('SELECT pg_terminate_backend($1)', [before]);
    let after: number | undefined;
    for (let attempt = 0; attempt < 3 && after === undefined; attempt += 1) {
      after = await backendPid(db).catch(() => undefined);
    }
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
  });

  it('prepares named statements once per connection where the adapter allows it', async () => {
    const db = context().connect(1);
    expect((await db.query<{ n: number }>('SELECT $1::int AS n', [1], { name: 'probe' })).rows).toEqual([{ n: 1 }]);
    expect((await db.query<{ n: number }>('SELECT $1::int AS n', [2], { name: 'probe' })).rows).toEqual([{ n: 2 }]);
    const prepared = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'probe'");
    expect(prepared.rows[0]?.n).toBe(context().driver === 'pg' ? 1 : 0);
  });

  it('returns rows as arrays of their values, in the select list\'s order, when asked, also named and in a transaction', async () => {
    const db = context().connect(1);
    const sql = "SELECT $1::text AS label, 2::bigint AS big, '{\"a\":1}'::jsonb AS doc, NULL::int AS nothing";
    expect((await db.query<[string, string, object, null]>(sql, ['x'], { rowMode: 'array' })).rows).toEqual([['x', '2', { a: 1 }, null]]);
    expect((await db.query<[string, string, object, null]>(sql, ['y'], { name: 'as_array', rowMode: 'array' })).rows).toEqual([['y', '2', { a: 1 }, null]]);
    const inTransaction = await db.transaction((tx) => tx.query<[number]>('SELECT n FROM generate_series(1, 3) AS n ORDER BY n', [], { rowMode: 'array' }));
    expect(inTransaction.rows).toEqual([[1], [2], [3]]);
    expect((await db.query<{ label: string }>(sql, ['z'], { name: 'as_array' })).rows).toEqual([{ label: 'z', big: '2', doc: { a: 1 }, nothing: null }]);
  });

  it('exposes SQLSTATE codes of server errors', async () => {
    const error = await context().db.query('SELECT 1/0').catch((caught: unknown) => caught);
    expect(asDatabaseError(error)).toMatchObject({ code: '22012' });
    expect(asDatabaseError(new Error('not from the server'))).toBeUndefined();
    // Any five capitals a PL/pgSQL trigger raises are the server's answer too...
    const raised = await context().db.query("DO $$ BEGIN RAISE EXCEPTION 'refused by a trigger' USING ERRCODE = 'ABCDE'; END $$").catch((caught: unknown) => caught);
    expect(asDatabaseError(raised)).toEqual({ code: 'ABCDE' });
    // ...but not Node's own socket errors, named in five capitals as well.
    expect(asDatabaseError(Object.assign(new Error('write EPIPE'), { errno: -32, code: 'EPIPE', syscall: 'write' }))).toBeUndefined();
  });
});

describe('database configuration', () => {
  it('defaults to the local test database on the pg driver', () => {
    expect(dbConfigFromEnv({})).toEqual({
      DATABASE_URL: DEFAULT_DATABASE_URL,
      DB_DRIVER: 'pg',
      DB_POOL_MAX: 10,
      PGLITE_DATA_DIR: '.data/pglite',
      DB_CONNECT_TIMEOUT_MS: 10_000,
      DB_QUERY_TIMEOUT_MS: 0,
    });
  });

  it('reads DATABASE_URL, DB_DRIVER and DB_POOL_MAX', () => {
    expect(dbConfigFromEnv({ DATABASE_URL: 'postgres://db/x', DB_DRIVER: 'neon', DB_POOL_MAX: '3' })).toMatchObject({
      DATABASE_URL: 'postgres://db/x',
      DB_DRIVER: 'neon',
      DB_POOL_MAX: 3,
    });
  });

  it('reads the bounds on waiting for the database, 0 for none', () => {
    expect(dbConfigFromEnv({ DB_CONNECT_TIMEOUT_MS: '0', DB_QUERY_TIMEOUT_MS: '15000' })).toMatchObject({ DB_CONNECT_TIMEOUT_MS: 0, DB_QUERY_TIMEOUT_MS: 15_000 });
  });

  it('refuses unknown drivers, bad pool sizes and bad bounds with a message naming them', () => {
    expect(() => dbConfigFromEnv({ DB_DRIVER: 'mysql' })).toThrow(/DB_DRIVER/);
    expect(() => dbConfigFromEnv({ DB_POOL_MAX: '0' })).toThrow(/DB_POOL_MAX/);
    expect(() => dbConfigFromEnv({ DB_QUERY_TIMEOUT_MS: '-1' })).toThrow(/DB_QUERY_TIMEOUT_MS/);
    expect(() => dbConfigFromEnv({ DB_CONNECT_TIMEOUT_MS: '2.5' })).toThrow(/DB_CONNECT_TIMEOUT_MS/);
    expect(() => dbConfigFromEnv({ DB_QUERY_TIMEOUT_MS: 'soon' })).toThrow(/DB_QUERY_TIMEOUT_MS/);
  });

  it('builds an adapter that holds the bounds it was given', async () => {
    const db = createDb(dbConfigFromEnv({ DATABASE_URL: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, DB_QUERY_TIMEOUT_MS: '200' }));
    try {
      await expect(db.query('SELECT pg_sleep(3)')).rejects.toBeInstanceOf(DatabaseTimeoutError);
    } finally {
      await db.close();
    }
  });

  it('builds a working adapter from the configuration', async () => {
    const db = createDb(dbConfigFromEnv({ DATABASE_URL: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL }));
    try {
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});
