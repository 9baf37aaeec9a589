import { expect, it } from 'vitest';
import { ConnectionLostError, type Queryable } from '../../core/db';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { sleep } from '../support/fixtures';

describeOnEachDriver('a connection the server closes while a transaction holds it', (context) => {
  const backendPid = async (db: Queryable) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;

  /** Terminates a backend for real and waits until the server has let it go. */
  const terminate = async (pid: number | undefined) => {
    const admin = context().db;
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (rowCount === 0) return;
      await sleep(10);
    }
    throw new Error(`backend ${String(pid)} outlived its termination`);
  };

  it('fails the transaction with ConnectionLostError, the process survives, and the pool goes on with a new connection', async () => {
    const table = `t_${Math.random().toString(36).slice(2)}`;
    await context().db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const uncaught: unknown[] = [];
    const recordUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', recordUncaught);
    const db = context().connect(1);
    let terminatedPid: number | undefined;
    try {
      // Given a transaction that wrote a row and is now busy elsewhere (idle on the server),
      const transaction = db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        terminatedPid = await backendPid(tx);
        // when the server terminates its connection and the driver has heard of it,
        await terminate(terminatedPid);
        await sleep(200);
        await tx.query(`INSERT INTO ${table} VALUES (2)`);
      });

      // then the transaction rejects, saying what happened,
      const failure = await transaction.catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConnectionLostError);
      expect((failure as Error).message).toMatch(/connection was lost .*rolled back/);
      // nothing it wrote is kept,
      const { rows } = await context().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(rows[0]?.n).toBe(0);
      // and the one-connection pool serves on a new connection rather than the dead one.
      const replacement = await backendPid(db);
      expect(replacement).toBeDefined();
      expect(replacement).not.toBe(terminatedPid);
      await db.transaction((tx) => tx.query(`INSERT INTO ${table} VALUES (3)`));
    } finally {
      process.off('uncaughtException', recordUncaught);
    }
    expect(uncaught).toEqual([]);
  });
});
