import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { startDevServer, type DevServer } from '../../functions/local';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const TOKEN = 'local-token-1';

/** The HTTP API over real HTTP, as `npm run dev` serves it (here on PostgreSQL, with API_TOKEN set). */
describe('the HTTP API on the dev server', () => {
  let database: TestDatabase;
  let dev: DevServer;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    dev = await startDevServer(bankService, {
      port: 0,
      env: { ...process.env, DATABASE_URL: database.url, NATS_URL: undefined, POWERTOOLS_LOG_LEVEL: 'SILENT' },
      bearerToken: TOKEN,
    });
  });
  afterAll(async () => {
    await dev.stop();
    await database.drop();
  });

  const send = async (method: string, path: string, options: { body?: string; token?: string | null } = {}) => {
    const token = options.token === undefined ? TOKEN : options.token;
    const response = await fetch(`${dev.url}${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  };
  const eventCount = async () => (await dev.runtime.db.query<{ count: number }>('SELECT count(*)::int AS count FROM events')).rows[0]?.count;

  it('without a token, or with the wrong one, answers 401 and runs nothing; with the right one, 200', async () => {
    const before = await eventCount();
    const open = JSON.stringify({ accountId: 'acc-auth', owner: 'ada', currency: 'EUR' });
    const missing = await send('POST', '/commands/OpenAccount', { body: open, token: null });
    const wrong = await send('POST', '/commands/OpenAccount', { body: open, token: 'local-token-2' });
    expect([missing.status, wrong.status]).toEqual([401, 401]);
    expect(missing.body).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await send('GET', '/accounts/acc-auth', { token: null })).toMatchObject({ status: 401 });
    expect(await eventCount()).toBe(before);

    expect(await send('POST', '/commands/OpenAccount', { body: open })).toMatchObject({ status: 200, body: { version: 1 } });
  });

  it("opens the browser's page, which holds no data, to anyone; its API and every other route still ask for the token", async () => {
    const page = await fetch(`${dev.url}/browser`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await send('GET', '/browser/api/streams', { token: null })).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await send('GET', '/browser/api/streams')).toMatchObject({ status: 200 });
    expect(await send('GET', '/nowhere', { token: null })).toMatchObject({ status: 401 });
  });

  it('an internal command (a transfer step) is unknown over HTTP, 404 as any unknown type, and writes nothing', async () => {
    const before = await eventCount();
    const internal = await send('POST', '/commands/RecordDebit', { body: JSON.stringify({ transferId: 'tr-1' }) });
    const unknown = await send('POST', '/commands/Teleport', { body: JSON.stringify({ transferId: 'tr-1' }) });
    expect(internal).toMatchObject({ status: 404, body: { code: 'UNKNOWN_COMMAND_TYPE', details: { commandType: 'RecordDebit' } } });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'UNKNOWN_COMMAND_TYPE' } });
    expect(await eventCount()).toBe(before);
    const { rows } = await dev.runtime.db.query("SELECT 1 FROM commands WHERE command_type = 'RecordDebit'");
    expect(rows).toEqual([]);
  });

  it('serves the query routes the service declares, kept fresh by its projector loop', async () => {
    const accountId = 'acc-query';
    await send('POST', '/commands/OpenAccount', { body: JSON.stringify({ accountId, owner: 'bo', currency: 'EUR' }) });
    await send('POST', '/commands/Deposit', { body: JSON.stringify({ accountId, amount: 40 }) });
    // The projector loop is woken by the commit; poll rather than guess how long it takes on a loaded runner.
    let account = await send('GET', `/accounts/${accountId}`);
    for (let attempt = 0; attempt < 100 && (account.status !== 200 || account.body.balance !== 40); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      account = await send('GET', `/accounts/${accountId}`);
    }
    expect(account).toMatchObject({ status: 200, body: { accountId, owner: 'bo', balance: 40 } });
    expect(await send('GET', '/accounts/nobody')).toMatchObject({ status: 404, body: { code: 'ACCOUNT_NOT_FOUND' } });
  });

  it('a transfer requested over HTTP completes on its own, one to an unknown account ends refunded, and its steps are not routable', async () => {
    const post = (type: string, payload: object) => send('POST', `/commands/${type}`, { body: JSON.stringify(payload) });
    await post('OpenAccount', { accountId: 'tr-ada', owner: 'ada', currency: 'EUR' });
    await post('OpenAccount', { accountId: 'tr-bob', owner: 'bob', currency: 'EUR' });
    await post('Deposit', { accountId: 'tr-ada', amount: 100 });
    expect(await post('RequestTransfer', { transferId: 'tr-1', fromAccountId: 'tr-ada', toAccountId: 'tr-bob', amount: 40, currency: 'EUR' })).toMatchObject({ status: 200 });
    expect(await post('RequestTransfer', { transferId: 'tr-2', fromAccountId: 'tr-ada', toAccountId: 'tr-nobody', amount: 25, currency: 'EUR' })).toMatchObject({ status: 200 });

    const settled = async (transferId: string) => {
      let read = await send('GET', `/transfers/${transferId}`);
      for (let attempt = 0; attempt < 200 && !['completed', 'refunded', 'failed'].includes(String(read.body.status)); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        read = await send('GET', `/transfers/${transferId}`);
      }
      return read;
    };
    expect(await settled('tr-1')).toMatchObject({ status: 200, body: { status: 'completed', amount: 40, saga: { phase: 'completed' } } });
    expect(await settled('tr-2')).toMatchObject({ status: 200, body: { status: 'refunded', reason: 'ACCOUNT_NOT_FOUND' } });
    const { rows } = await dev.runtime.db.query<{ balance: number }>(
      "SELECT sum(CASE type WHEN 'MoneyDeposited' THEN (data->>'amount')::int ELSE -(data->>'amount')::int END)::int AS balance FROM events WHERE stream_id = 'account-tr-ada' AND type IN ('MoneyDeposited', 'MoneyWithdrawn')",
    );
    expect(rows[0]?.balance).toBe(60);
    expect(await post('CompleteTransfer', { transferId: 'tr-1' })).toMatchObject({ status: 404, body: { code: 'UNKNOWN_COMMAND_TYPE' } });
    expect(await send('GET', '/transfers/none')).toMatchObject({ status: 404, body: { code: 'TRANSFER_NOT_FOUND' } });
  });

  it('GET /metrics: the append and lag figures, as Prometheus text, without AWS', async () => {
    const response = await fetch(`${dev.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/^append_latency_milliseconds_count\{streamType="account"\} [1-9]/m);
    expect(text).toMatch(/^commands_total\{commandType="OpenAccount",outcome="succeeded"\} [1-9]/m);
    expect(text).toMatch(/^projection_lag_events\{projection="account_summaries",partition="0"\} \d+$/m);
    expect(text).toMatch(/^saga_instances\{saga="transfer",phase="completed"\} \d+$/m);
  });

  it('400 INVALID_TEXT for a lone UTF-16 surrogate in the body (the escape written in the JSON) or %00 in a path id', async () => {
    const refusals = [
      await send('POST', '/commands/OpenAccount', { body: '{"accountId":"a\\ud800b","owner":"ada","currency":"EUR"}' }),
      await send('GET', '/accounts/a%00b'),
      await send('GET', '/accounts/a%00b/statement'),
      await send('GET', '/commands/a%00b'),
      await send('POST', '/commands/a%00b', { body: '{"accountId":"acc-1"}' }),
    ];
    expect(refusals.map((response) => [response.status, response.body.code])).toEqual(Array.from(refusals, () => [400, 'INVALID_TEXT']));
  });

  it('405 METHOD_NOT_ALLOWED with Allow for a known path, 404 ROUTE_NOT_FOUND for an unknown one', async () => {
    const wrongMethod = await send('PUT', '/commands/Deposit', { body: '{}' });
    expect(wrongMethod).toMatchObject({ status: 405, body: { code: 'METHOD_NOT_ALLOWED', details: { allowed: ['GET', 'POST'] } } });
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    expect(await send('DELETE', '/accounts/acc-1')).toMatchObject({ status: 405, body: { details: { allowed: ['GET'] } } });
    expect(await send('GET', '/accounts')).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND', message: 'No route for GET /accounts' } });
  });
});
