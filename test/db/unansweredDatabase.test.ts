import { afterAll, beforeAll, expect, it } from 'vitest';
import { DatabaseTimeoutError, type Queryable } from '../../core/db';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { sleep } from '../support/fixtures';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';

const BOUND_MS = 300;
// Well under the statements' own length, well over the bound on a loaded two-core runner.
const GIVEN_UP_WITHIN_MS = 2_000;

const backendPid = async (db: Queryable) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;

/** How long `work` took to settle, and how: a timeout must be quick and typed. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await work.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  return { ms: performance.now() - started, error };
}

describeOnEachDriver('a database that does not answer', (context) => {
  let silentServer: TcpProxy;

  beforeAll(async () => {
    // Takes every connection and never says a word: a hung server, or a blackholed pooler.
    silentServer = await startTcpProxy(5432);
    silentServer.silenceAll();
  });

  afterAll(async () => {
    await silentServer.close();
  });

  /** Waits until the server has ended a backend whose client gave up on it. */
  const untilGone = async (pid: number | undefined) => {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const { rowCount } = await context().db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      if (rowCount === 0) return;
      await sleep(50);
    }
    throw new Error(`backend ${String(pid)} outlived its client`);
  };

  it('given a query bound, a statement unanswered past it fails with DatabaseTimeoutError, and the pool goes on with a new connection', async () => {
    const db = context().connect(1, { queryTimeoutMs: BOUND_MS });
    const first = await backendPid(db);

    const { ms, error } = await timed(db.query('SELECT pg_sleep(5)'));

    expect(error).toBeInstanceOf(DatabaseTimeoutError);
    expect(error).toMatchObject({ waitingFor: 'answer', timeoutMs: BOUND_MS, code: '08006' });
    expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
    expect(ms).toBeLessThan(GIVEN_UP_WITHIN_MS);
    // The one-connection pool serves the next statement, a quick one, on a new connection.
    await db.query('SELECT pg_sleep(0.05)');
    expect(await backendPid(db)).not.toBe(first);
  });

  it('given a query bound, a transaction whose statement goes unanswered fails with DatabaseTimeoutError and keeps nothing it wrote', async () => {
    const table = `t_${Math.random().toString(36).slice(2)}`;
    await context().db.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    const db = context().connect(1, { queryTimeoutMs: BOUND_MS });
    let pid: number | undefined;

    const { ms, error } = await timed(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        pid = await backendPid(tx);
        await tx.query('SELECT pg_sleep(2)');
        await tx.query(`INSERT INTO ${table} VALUES (2)`);
      }),
    );

    expect(error).toBeInstanceOf(DatabaseTimeoutError);
    expect(ms).toBeLessThan(GIVEN_UP_WITHIN_MS);
    // Once the server finds its client gone, it rolls the transaction back.
    await untilGone(pid);
    const { rows } = await context().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    expect(rows[0]?.n).toBe(0);
  });

  it('given a connect bound, a server that takes the connection and never answers fails each attempt with DatabaseTimeoutError, holding no pool slot', async () => {
    const db = context().connect(1, { connectTimeoutMs: BOUND_MS, url: `postgres://postgres@127.0.0.1:${silentServer.port}/test` });

    // Twice on a one-connection pool: the first attempt's connection must not keep the slot.
    for (const attempt of [1, 2]) {
      const { ms, error } = await timed(db.query('SELECT 1'));
      expect(error, `attempt ${attempt}`).toBeInstanceOf(DatabaseTimeoutError);
      expect(error).toMatchObject({ waitingFor: 'connection', timeoutMs: BOUND_MS, code: '08001' });
      expect(ms).toBeLessThan(GIVEN_UP_WITHIN_MS);
    }
  });

  it('statements that answer within the bounds are not touched by them', async () => {
    const db = context().connect(2, { connectTimeoutMs: 5_000, queryTimeoutMs: 5_000 });
    const answers = await Promise.all(Array.from({ length: 4 }, (_, n) => db.query<{ n: number }>('SELECT $1::int AS n, pg_sleep(0.1)', [n])));
    expect(answers.map((answer) => answer.rows[0]?.n)).toEqual([0, 1, 2, 3]);
  });
});
