import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { handler as commandWorker } from '../../functions/commandWorker';
import { lambdaContext } from '../support/apiGatewayEvent';
import { getCommandRequest, postCommandRequest } from '../support/commandHttp';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { untilLockWaiters } from '../support/lockWaiters';

const QUERY_TIMEOUT_MS = 500;

const database = useAppOnTestDatabase({ env: { DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS) } });

/** Holds every write to the command records, as a stuck migration or a long transaction would: until `release`. */
async function holdCommandRecords(): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: database().url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE commands IN SHARE MODE');
  return {
    release: async () => {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

/**
 * Holds an account stream's lock in a transaction of its own, as a stuck writer
 * would: every append to the stream waits for it, unanswered, until `release`.
 */
async function holdStream(streamId: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: database().url });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock(1163067393, hashtext($1))', [streamId]);
  return {
    release: async () => {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

async function depositsOf(streamId: string): Promise<number> {
  const client = new pg.Client({ connectionString: database().url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'MoneyDeposited'", [streamId]);
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

describe('a command whose statement the database does not answer in time', () => {
  it('answers 503 DATABASE_TIMEOUT at once, untried again, naming the id the bus gave it; sent again by that id once the database answers, it is kept once', async () => {
    const accountId = crypto.randomUUID();
    const streamId = `account-${accountId}`;
    expect(await postCommandRequest('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' })).toMatchObject({ statusCode: 200 });
    const stuck = await holdStream(streamId);

    // Sent without an id of the caller's own.
    const started = performance.now();
    const refused = await postCommandRequest('Deposit', { accountId, amount: 500 }).finally(() => stuck.release());

    expect(refused).toMatchObject({ statusCode: 503, body: { code: 'DATABASE_TIMEOUT', details: { waitingFor: 'answer' } } });
    const { commandId } = (refused.body as { details: { commandId?: unknown } }).details;
    if (typeof commandId !== 'string') throw new Error(`the answer names no command id: ${JSON.stringify(refused.body)}`);
    const key = { 'idempotency-key': commandId };
    // One bound, not one per retry: the bus tries a timed-out command only once.
    expect(performance.now() - started).toBeLessThan(4 * QUERY_TIMEOUT_MS + 1_000);
    // Whether the unanswered append went through or not, the same id keeps the deposit once.
    expect(await postCommandRequest('Deposit', { accountId, amount: 500 }, key)).toMatchObject({ statusCode: 200, body: { version: 2 } });
    expect(await postCommandRequest('Deposit', { accountId, amount: 500 }, key)).toMatchObject({ statusCode: 200, body: { version: 2 } });
    expect(await depositsOf(streamId)).toBe(1);
  });

  it('sent to run later, answers 503 DATABASE_TIMEOUT naming the id it was to be stored under; the store given up is cancelled, and sent again by that id the command is kept and run once', async () => {
    const accountId = crypto.randomUUID();
    expect(await postCommandRequest('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' })).toMatchObject({ statusCode: 200 });
    const async = { prefer: 'respond-async' };
    const stuck = await holdCommandRecords();

    let refused: Awaited<ReturnType<typeof postCommandRequest>>;
    try {
      refused = await postCommandRequest('Deposit', { accountId, amount: 700 }, async);
      // Cancelled on the server, the store no longer waits for the records: freeing them cannot let it commit.
      await untilLockWaiters(database().url, 'none');
    } finally {
      await stuck.release();
    }

    expect(refused).toMatchObject({ statusCode: 503, body: { code: 'DATABASE_TIMEOUT', details: { waitingFor: 'answer' } } });
    const { commandId } = (refused.body as { details: { commandId?: unknown } }).details;
    if (typeof commandId !== 'string') throw new Error(`the answer names no command id: ${JSON.stringify(refused.body)}`);
    expect(await getCommandRequest(commandId)).toMatchObject({ statusCode: 404, body: { code: 'COMMAND_NOT_FOUND' } });
    expect(await postCommandRequest('Deposit', { accountId, amount: 700 }, { ...async, 'idempotency-key': commandId })).toMatchObject({
      statusCode: 202,
      body: { commandId },
    });
    // Run by the worker, and again as a duplicate delivery.
    await commandWorker({ commandId }, lambdaContext('CommandWorker'));
    await commandWorker({ commandId }, lambdaContext('CommandWorker'));
    expect(await getCommandRequest(commandId)).toMatchObject({ statusCode: 200, body: { status: 'succeeded' } });
    expect(await depositsOf(`account-${accountId}`)).toBe(1);
  });
});
