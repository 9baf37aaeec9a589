import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { postCommandRequest } from '../support/commandHttp';
import { deferred, sleep } from '../support/fixtures';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

const database = useAppOnTestDatabase({ env: { DB_POOL_MAX: '2' } });
let admin: Db | undefined;

beforeAll(() => {
  admin = createPgDb({ connectionString: database().url, max: 2 });
});

afterAll(async () => {
  await admin?.close();
});

const adminDb = (): Db => {
  if (!admin) throw new Error('beforeAll has not run');
  return admin;
};

/**
 * Writes the stream's next version in a transaction of its own and holds it open
 * until `release`, which rolls it back: an append of that version waits for it.
 */
async function holdNextVersion(streamId: string, version: number) {
  const written = deferred();
  const release = deferred();
  const holding = adminDb()
    .transaction(async (tx) => {
      await tx.query(
        `INSERT INTO events (stream_id, stream_type, version, event_id, type, data)
         VALUES ($1, 'account', $2, gen_random_uuid(), 'MoneyDeposited', '{"amount": 1}')`,
        [streamId, version],
      );
      written.resolve();
      await release.promise;
      throw new Error('rolled back on purpose');
    })
    .catch(() => undefined);
  await written.promise;
  return async () => {
    release.resolve();
    await holding;
  };
}

/** The backend of this database waiting for another transaction to end: the one appending for the command. */
async function backendWaitingForTheHolder(): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt += 1) {
    const { rows } = await adminDb().query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'transactionid'`,
    );
    if (rows.length > 1) throw new Error('more than one backend waits');
    if (rows[0]) return rows[0].pid;
    await sleep(10);
  }
  throw new Error('no backend came to wait for the held version');
}

describe('POST /commands/{type} when the server terminates the connection mid-command', () => {
  it('retries on a new connection and succeeds exactly once: 200, one event, the right balance', async () => {
    const accountId = crypto.randomUUID();
    const streamId = `account-${accountId}`;
    expect((await postCommandRequest('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' })).statusCode).toBe(200);

    // Given the command's append waits for another transaction writing the same version,
    const releaseVersion = await holdNextVersion(streamId, 2);
    const response = postCommandRequest('Deposit', { accountId, amount: 250 });
    const serving = await backendWaitingForTheHolder();
    // when the server terminates the connection serving it (a real "terminating connection" error),
    const { rows } = await adminDb().query<{ terminated: boolean }>('SELECT pg_terminate_backend($1) AS terminated', [serving]);
    expect(rows[0]?.terminated).toBe(true);
    await releaseVersion();

    // then the command is retried and succeeds, once.
    const answer = await response;
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({ streamId, version: 2, replayed: false, events: [{ type: 'MoneyDeposited', version: 2 }] });
    const deposits = await adminDb().query<{ count: number; balance: number }>(
      `SELECT count(*)::int AS count, coalesce(sum((data->>'amount')::int), 0)::int AS balance
       FROM events WHERE stream_id = $1 AND type = 'MoneyDeposited'`,
      [streamId],
    );
    expect(deposits.rows[0]).toEqual({ count: 1, balance: 250 });
    const alive = await adminDb().query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [serving]);
    expect(alive.rowCount).toBe(0);
  });
});
