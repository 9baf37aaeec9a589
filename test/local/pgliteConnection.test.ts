import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDb, PgliteReentrantCallError, type PgliteDb } from '../../core/db';
import { deferred, sleep } from '../support/fixtures';

// PGlite is one connection: these pin down how the adapter shares it.
describe('the Db port on PGlite', () => {
  let db: PgliteDb;
  beforeAll(async () => {
    db = createPgliteDb();
    await db.query('CREATE TABLE items (id int PRIMARY KEY, note text)');
  });
  afterAll(() => db.close());

  const ids = async () => (await db.query<{ id: number }>('SELECT id FROM items ORDER BY id')).rows.map((row) => row.id);
  const reset = () => db.query('DELETE FROM items');

  it('runs a query issued during another caller\'s transaction after it, outside it', async () => {
    await reset();
    const inTransaction = deferred();
    const release = deferred();
    const transaction = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id) VALUES ($1)', [1]);
      inTransaction.resolve();
      await release.promise;
      throw new Error('roll back');
    });
    await inTransaction.promise;
    let outsideDone = false;
    const outside = db.query('INSERT INTO items (id) VALUES ($1)', [2]).then(() => {
      outsideDone = true;
    });
    await sleep(50);
    expect(outsideDone).toBe(false);
    release.resolve();
    await expect(transaction).rejects.toThrow('roll back');
    await outside;
    // Had the outside insert run inside the transaction, the rollback would have taken it too.
    expect(await ids()).toEqual([2]);
  });

  it('commits a transaction and returns its value; a rolled-back one keeps the database usable', async () => {
    await reset();
    await expect(db.transaction((tx) => tx.query('INSERT INTO items (id) VALUES (1), (1)'))).rejects.toMatchObject({ code: '23505' });
    const value = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id) VALUES ($1), ($2)', [3, 4]);
      return 'done';
    });
    expect(value).toBe('done');
    expect(await ids()).toEqual([3, 4]);
  });

  it('refuses a commit after a statement failed inside the transaction', async () => {
    await reset();
    const swallowing = db.transaction(async (tx) => {
      await tx.query('INSERT INTO items (id) VALUES (5)');
      await tx.query('SELECT 1/0').catch(() => undefined);
    });
    await expect(swallowing).rejects.toMatchObject({ code: '25P02' });
    expect(await ids()).toEqual([]);
  });

  it('fails, rather than waiting forever, when a transaction\'s work calls the db instead of its tx', async () => {
    let later: Promise<unknown> | undefined;
    await expect(
      db.transaction(async () => {
        later = sleep(20).then(() => db.query('SELECT 1'));
        await db.query('SELECT 1');
      }),
    ).rejects.toBeInstanceOf(PgliteReentrantCallError);
    // Work the transaction left behind may use the db once the transaction has ended.
    await expect(later).resolves.toMatchObject({ rowCount: 1 });
  });

  it('converts values as node-postgres does', async () => {
    const { rows } = await db.query(
      'SELECT $1::bigint AS big, ARRAY[$1::bigint] AS bigs, $2::jsonb AS doc, $3::timestamptz AS at, $4::text[] AS tags, $5::int AS n, $6::text AS missing',
      [12_345_678_901_234_567n, { a: [1] }, new Date(0), ['x', 'y"z'], 7, undefined],
    );
    expect(rows).toEqual([{ big: '12345678901234567', bigs: ['12345678901234567'], doc: { a: [1] }, at: new Date(0), tags: ['x', 'y"z'], n: 7, missing: null }]);
  });

  it('runs several statements without parameters in one call, returning the last one\'s rows', async () => {
    await reset();
    const result = await db.query<{ n: number }>("INSERT INTO items (id) VALUES (8); UPDATE items SET note = 'x'; SELECT count(*)::int AS n FROM items");
    expect(result).toEqual({ rows: [{ n: 1 }], rowCount: 1 });
    expect((await db.query('UPDATE items SET note = $1', ['y'])).rowCount).toBe(1);
  });

  it('accepts statement names, which PGlite does not need', async () => {
    expect((await db.query<{ n: number }>('SELECT $1::int AS n', [1], { name: 'probe' })).rows).toEqual([{ n: 1 }]);
    expect((await db.query<{ n: number }>('SELECT $1::int AS n', [2], { name: 'probe' })).rows).toEqual([{ n: 2 }]);
  });
});
