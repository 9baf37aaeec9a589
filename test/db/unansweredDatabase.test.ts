import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DatabaseTimeoutError, type Queryable } from '../../core/db';
import { createNeonDb } from '../../core/db/neonDb';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { sleep } from '../support/fixtures';
import { serveLocally, type LocalServer } from '../support/localServer';
import { startSilentWebSocketServer } from '../support/silentWebSocketServer';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';
import { startWsTcpProxy } from '../support/wsTcpProxy';

const BOUND_MS = 300;
// Well under the statements' own length, well over the bound on a loaded two-core runner.
const GIVEN_UP_WITHIN_MS = 2_000;

const backendPid = async (db: Queryable) => (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;

const addressThrough = (url: string, port: number) => {
  const address = new URL(url);
  address.hostname = '127.0.0.1';
  address.port = String(port);
  return address.toString();
};

/** Passes its first connection through to PostgreSQL and closes every later one as it comes: a pooler that turned away. */
function startFirstOnlyProxy(): Promise<LocalServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    if (accepted > 1) {
      client.destroy();
      return;
    }
    const upstream = net.connect(5432, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return serveLocally(server, sockets);
}

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

  it('given a query bound, a caller waiting for the only pooled connection is served at once when the statement holding it is given up on, the connection gone silent', async () => {
    const proxy = await startTcpProxy(5432);
    onTestFinished(() => proxy.close());
    const db = context().connect(1, { queryTimeoutMs: BOUND_MS, url: addressThrough(context().databaseUrl, proxy.port) });
    await db.query('SELECT 1');

    const started = performance.now();
    const holding = timed(db.query('SELECT pg_sleep(5)'));
    const waiting = timed(db.query<{ n: number }>('SELECT 2 AS n'));
    await sleep(BOUND_MS / 3);
    proxy.silence();

    expect((await holding).error).toBeInstanceOf(DatabaseTimeoutError);
    expect((await waiting).error).toBeUndefined();
    // On a new connection, through the proxy, which lets new ones pass.
    expect(performance.now() - started).toBeLessThan(GIVEN_UP_WITHIN_MS + BOUND_MS);
  });

  it('given a connect bound, a connection refused quickly after a wait for the pool is the failure it is, not a timeout', async () => {
    const firstOnly = await startFirstOnlyProxy();
    onTestFinished(() => firstOnly.close());
    const db = context().connect(1, { connectTimeoutMs: BOUND_MS, queryTimeoutMs: 2 * BOUND_MS, url: addressThrough(context().databaseUrl, firstOnly.port) });

    // The second waits for the pool past the connect bound, then connects anew and is turned away at once.
    const holding = timed(db.query('SELECT pg_sleep(5)'));
    const waiting = timed(db.query('SELECT 1'));

    expect((await holding).error).toBeInstanceOf(DatabaseTimeoutError);
    const { error } = await waiting;
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(DatabaseTimeoutError);
  });

  it('statements that answer within the bounds are not touched by them', async () => {
    const db = context().connect(2, { connectTimeoutMs: 5_000, queryTimeoutMs: 5_000 });
    const answers = await Promise.all(Array.from({ length: 4 }, (_, n) => db.query<{ n: number }>('SELECT $1::int AS n, pg_sleep(0.1)', [n])));
    expect(answers.map((answer) => answer.rows[0]?.n)).toEqual([0, 1, 2, 3]);
  });
});

const NEON_OVER_PLAIN_WEBSOCKETS = { useSecureWebSocket: false, pipelineConnect: false, pipelineTLS: false, forceDisablePgSSL: true } as const;

describe('a Neon WebSocket that opens and then says nothing', () => {
  it('given a connect bound, fails with DatabaseTimeoutError about a second past the bound, not after the WebSocket close wait of 30 s', async () => {
    const silent = await startSilentWebSocketServer();
    onTestFinished(() => silent.close());
    const db = await createNeonDb({
      connectionString: 'postgres://postgres@127.0.0.1:5432/test',
      max: 1,
      connectTimeoutMs: BOUND_MS,
      neon: { wsProxy: () => `127.0.0.1:${silent.port}/v2`, ...NEON_OVER_PLAIN_WEBSOCKETS },
    });
    onTestFinished(() => db.close());

    const { ms, error } = await timed(db.query('SELECT 1'));

    expect(error).toBeInstanceOf(DatabaseTimeoutError);
    expect(error).toMatchObject({ waitingFor: 'connection' });
    expect(ms).toBeLessThan(GIVEN_UP_WITHIN_MS + 1_000);
  });

  it('given a query bound, a caller waiting for the only pooled connection is served about a second after the statement holding it is given up on, not after the close wait', async () => {
    // Neon's WebSocket proxy, reached through a pipe that can go silent: nothing answers the close frame.
    const webSockets = await startWsTcpProxy();
    onTestFinished(() => webSockets.close());
    const pipe = await startTcpProxy(webSockets.port);
    onTestFinished(() => pipe.close());
    const db = await createNeonDb({
      connectionString: 'postgres://postgres@127.0.0.1:5432/test',
      max: 1,
      queryTimeoutMs: BOUND_MS,
      neon: { wsProxy: (host, port) => `127.0.0.1:${pipe.port}/v2?address=${host}:${port}`, ...NEON_OVER_PLAIN_WEBSOCKETS },
    });
    onTestFinished(() => db.close());
    await db.query('SELECT 1');

    const holding = timed(db.query('SELECT pg_sleep(5)'));
    const waiting = timed(db.query('SELECT 2'));
    await sleep(BOUND_MS / 3);
    pipe.silence();

    expect((await holding).error).toBeInstanceOf(DatabaseTimeoutError);
    const served = await waiting;
    expect(served.error).toBeUndefined();
    expect(served.ms).toBeLessThan(GIVEN_UP_WITHIN_MS + 1_000);
  });

  it('a refused connection fails with the driver\'s own error, ECONNREFUSED, bounded or not', async () => {
    const closed = await startSilentWebSocketServer();
    const { port } = closed;
    await closed.close();
    for (const connectTimeoutMs of [0, BOUND_MS]) {
      const db = await createNeonDb({
        connectionString: 'postgres://postgres@127.0.0.1:5432/test',
        max: 1,
        connectTimeoutMs,
        neon: { wsProxy: () => `127.0.0.1:${port}/v2`, ...NEON_OVER_PLAIN_WEBSOCKETS },
      });
      onTestFinished(() => db.close());
      const { error } = await timed(db.query('SELECT 1'));
      expect(error, `bound ${connectTimeoutMs}`).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(DatabaseTimeoutError);
      expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    }
  });
});
