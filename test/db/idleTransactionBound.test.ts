import { describe, expect, it } from 'vitest';
import { asDatabaseError, ConnectionLostError, createPgliteDb } from '../../core/db';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { deferred, sleep } from '../support/fixtures';

const IDLE_BOUND_MS = 300;
// For transactions that must not be ended: far above a loaded runner's pauses.
const HEALTHY_BOUND_MS = 5_000;

describeOnEachDriver('a transaction given an idle bound', (context) => {
  it('given a transaction that wrote a row, when it sits idle past its bound, then its next statement fails with ConnectionLostError, nothing is kept, and the pool goes on', async () => {
    const table = `t_${Math.random().toString(36).slice(2)}`;
    await context().db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const db = context().connect(1);

    const failure = await db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        await sleep(IDLE_BOUND_MS * 4);
        await tx.query(`INSERT INTO ${table} VALUES (2)`);
      }, { idleTimeoutMs: IDLE_BOUND_MS })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConnectionLostError);
    expect(asDatabaseError((failure as Error).cause)?.code).toBe('25P03');
    const { rows } = await context().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    expect(rows[0]?.n).toBe(0);
    await db.transaction((tx) => tx.query(`INSERT INTO ${table} VALUES (3)`), { idleTimeoutMs: HEALTHY_BOUND_MS });
    // The bound is the transaction's own: the connection's next transaction and statements have none.
    await db.transaction(async (tx) => {
      await sleep(IDLE_BOUND_MS * 2);
      await tx.query(`INSERT INTO ${table} VALUES (4)`);
    });
    const { rows: kept } = await db.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`);
    expect(kept).toEqual([{ id: 3 }, { id: 4 }]);
  });

  it('given a process frozen past its bound (its event loop blocked), when it wakes, then its next statement fails with ConnectionLostError too, and the pool goes on', async () => {
    const db = context().connect(1);
    const failure = await db
      .transaction(async (tx) => {
        await tx.query('SELECT 1');
        // Blocked, the process reads nothing: it writes its next statement before it reads the server's notice.
        const wakesAt = Date.now() + IDLE_BOUND_MS * 4;
        while (Date.now() < wakesAt);
        await tx.query('SELECT 2');
      }, { idleTimeoutMs: IDLE_BOUND_MS })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ConnectionLostError);
    expect(asDatabaseError((failure as Error).cause)?.code).toBe('25P03');
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('given work that hangs in its transaction past its bound and never settles, then its connection goes back to the pool: a one-connection pool serves the next statement', async () => {
    const db = context().connect(1);
    const hangs = deferred();
    const hanging = db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await hangs.promise;
    }, { idleTimeoutMs: IDLE_BOUND_MS });

    expect((await db.query<{ two: number }>('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    // Let go, it finds its transaction gone at its COMMIT.
    hangs.resolve();
    await expect(hanging).rejects.toBeInstanceOf(ConnectionLostError);
  });

  it('refuses a bound that is no whole number of milliseconds within PostgreSQL\'s integer, before it takes a connection', async () => {
    const db = context().connect(1);
    for (const idleTimeoutMs of [0, -1, 1.5, Number.NaN, 2_147_483_648]) {
      let ran = false;
      const refused = db.transaction(() => {
        ran = true;
        return Promise.resolve();
      }, { idleTimeoutMs });
      await expect(refused).rejects.toThrow(/idleTimeoutMs must be a whole number of milliseconds from 1 to 2147483647/);
      expect(ran).toBe(false);
    }
  });
});

describe('PGlite given an idle bound', () => {
  it('ignores it: one process runs every transaction there, and a transaction idle past it commits', async () => {
    const db = createPgliteDb();
    try {
      await db.query('CREATE TABLE kept (id int PRIMARY KEY)');
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO kept VALUES (1)');
        await sleep(IDLE_BOUND_MS * 2);
        await tx.query('INSERT INTO kept VALUES (2)');
      }, { idleTimeoutMs: IDLE_BOUND_MS });
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM kept')).rows).toEqual([{ n: 2 }]);
      // Refused all the same, as on a server: the caller's mistake shows before it reaches one.
      await expect(db.transaction(() => Promise.resolve(), { idleTimeoutMs: 0 })).rejects.toThrow(RangeError);
    } finally {
      await db.close();
    }
  });
});
