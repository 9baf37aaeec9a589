import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { handler as commandWorker } from '../../functions/commandWorker';
import { lambdaContext } from '../support/apiGatewayEvent';
import { getCommandRequest, postCommandRequest } from '../support/commandHttp';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { untilLockWaiters } from '../support/lockWaiters';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';

// The app reaches PostgreSQL through a proxy the test cuts, as a failover or a network fault would.
let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startTcpProxy(5432);
});
afterAll(async () => {
  await proxy.close();
});

const throughProxy = (url: string) => {
  const address = new URL(url);
  address.hostname = '127.0.0.1';
  address.port = String(proxy.port);
  return address.toString();
};

const database = useAppOnTestDatabase({ env: () => ({ DATABASE_URL: throughProxy(process.env.DATABASE_URL ?? '') }) });

/** A connection of the test's own, straight to PostgreSQL: the proxy's cut does not reach it. */
async function direct<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database().url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Holds a lock in a transaction of its own (as a stuck writer would) until `release`. */
async function holding(lockStatement: string, params: unknown[] = []): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: database().url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(lockStatement, params);
  return {
    release: async () => {
      await client.query('COMMIT');
      await client.end();
    },
  };
}


const depositsOf = (streamId: string) =>
  direct(async (client) => (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'MoneyDeposited'", [streamId])).rows[0]?.n);

/** The command id a 503 names; the test fails if it names none. */
function commandIdOf(answer: { body: unknown }): string {
  const { commandId } = (answer.body as { details?: { commandId?: unknown } }).details ?? {};
  if (typeof commandId !== 'string') throw new Error(`the answer names no command id: ${JSON.stringify(answer.body)}`);
  return commandId;
}

/**
 * Sends the request while `stuck` holds what its statement needs, cuts the app's
 * connections once the statement waits, and returns the answer; the lock is then
 * let go (the server, still holding the statement, runs it to its commit) and the
 * proxy restored.
 */
async function answerWithReplyLost(stuck: { release: () => Promise<void> }, send: () => ReturnType<typeof postCommandRequest>) {
  try {
    const sent = send();
    await untilLockWaiters(database().url, 'some');
    await proxy.cut();
    return await sent;
  } finally {
    await stuck.release();
    await proxy.restore();
  }
}

describe('a command whose connection to the database is lost after its statement was sent (the reply lost)', () => {
  it('answers 503 DATABASE_UNAVAILABLE naming the id the bus gave it; the statement committed all the same, and sent again by that id it is kept once', async () => {
    const accountId = crypto.randomUUID();
    const streamId = `account-${accountId}`;
    expect(await postCommandRequest('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' })).toMatchObject({ statusCode: 200 });
    const stuck = await holding('SELECT pg_advisory_xact_lock(1163067393, hashtext($1))', [streamId]);

    // The bus tries again while the database is away, and gives up.
    const answer = await answerWithReplyLost(stuck, () => postCommandRequest('Deposit', { accountId, amount: 500 }));

    expect(answer).toMatchObject({ statusCode: 503, body: { code: 'DATABASE_UNAVAILABLE' } });
    const key = { 'idempotency-key': commandIdOf(answer) };
    expect(await depositsOf(streamId)).toBe(1);
    expect(await postCommandRequest('Deposit', { accountId, amount: 500 }, key)).toMatchObject({ statusCode: 200, body: { version: 2 } });
    expect(await depositsOf(streamId)).toBe(1);
  });

  it('sent to run later, answers 503 DATABASE_UNAVAILABLE naming the id it was stored under; by that id it is found, sent again without a second copy, and run once', async () => {
    const accountId = crypto.randomUUID();
    expect(await postCommandRequest('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' })).toMatchObject({ statusCode: 200 });
    const async = { prefer: 'respond-async' };
    const stuck = await holding('LOCK TABLE commands IN SHARE MODE');

    const answer = await answerWithReplyLost(stuck, () => postCommandRequest('Deposit', { accountId, amount: 700 }, async));

    expect(answer).toMatchObject({ statusCode: 503, body: { code: 'DATABASE_UNAVAILABLE' } });
    const commandId = commandIdOf(answer);
    expect(await getCommandRequest(commandId)).toMatchObject({ statusCode: 200, body: { commandId, commandType: 'Deposit' } });
    expect(await postCommandRequest('Deposit', { accountId, amount: 700 }, { ...async, 'idempotency-key': commandId })).toMatchObject({ statusCode: 202, body: { commandId } });
    // Run by the worker, as the sweep would have it, and again as a duplicate delivery.
    await commandWorker({ commandId }, lambdaContext('CommandWorker'));
    await commandWorker({ commandId }, lambdaContext('CommandWorker'));
    expect(await getCommandRequest(commandId)).toMatchObject({ statusCode: 200, body: { status: 'succeeded' } });
    expect(await depositsOf(`account-${accountId}`)).toBe(1);
  });
});
