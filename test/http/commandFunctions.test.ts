import { describe, expect, it } from 'vitest';
import { CommandFailedBeforeError } from '../../core/commands';
import { ConcurrencyError } from '../../core/eventstore';
import { getRuntime } from '../../functions/runtime';
import { errorResponse } from '../../functions/http/errorResponse';
import { parseResponse } from '../support/apiGatewayEvent';
import { getCommandRequest, postCommandRequest } from '../support/commandHttp';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

useAppOnTestDatabase();

const post = postCommandRequest;
const get = getCommandRequest;
const openAccount = async () => {
  const accountId = crypto.randomUUID();
  expect((await post('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' })).statusCode).toBe(200);
  return accountId;
};

describe('POST /commands/{type}', () => {
  it('200: runs the command and answers with its outcome, echoing the correlation id', async () => {
    const accountId = crypto.randomUUID();
    const response = await post('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' }, { 'x-correlation-id': 'corr-1' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-correlation-id']).toBe('corr-1');
    expect(response.body).toMatchObject({
      commandType: 'OpenAccount',
      streamId: `account-${accountId}`,
      version: 1,
      replayed: false,
      events: [{ type: 'AccountOpened', version: 1 }],
    });
  });

  it('200 again for a repeated Idempotency-Key, replayed from the stored outcome', async () => {
    const accountId = await openAccount();
    const key = { 'idempotency-key': crypto.randomUUID() };
    const first = await post('Deposit', { accountId, amount: 500 }, key);
    const again = await post('Deposit', { accountId, amount: 500 }, key);
    expect(again.statusCode).toBe(200);
    expect(again.body).toEqual({ ...first.body, replayed: true });
    const byField = await post('Deposit', { accountId, amount: 500, commandId: key['idempotency-key'] });
    expect(byField.body).toEqual({ ...first.body, replayed: true });
  });

  it('400: lists every invalid field', async () => {
    const response = await post('Deposit', { accountId: '', amount: -5, colour: 'red' });
    expect(response.statusCode).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    const issues = (response.body.details as { issues: { path: string }[] }).issues.map((issue) => issue.path);
    expect(issues).toEqual(expect.arrayContaining(['accountId', 'amount']));
    expect(issues.length).toBeGreaterThanOrEqual(3);
  });

  it('400: refuses a body that is not JSON, or not an object', async () => {
    expect((await post('Deposit', '{"amount": ')).body).toMatchObject({ code: 'INVALID_JSON' });
    expect((await post('Deposit', '[1, 2]')).statusCode).toBe(400);
  });

  it('400: refuses an Idempotency-Key that contradicts the commandId field', async () => {
    const response = await post('Deposit', { accountId: 'a', amount: 1, commandId: 'one' }, { 'idempotency-key': 'two' });
    expect(response).toMatchObject({ statusCode: 400, body: { code: 'INVALID_COMMAND_ID' } });
  });

  it('400 INVALID_COMMAND_ID: an Idempotency-Key, X-Correlation-Id or X-Causation-Id that is not 1 to 200 printable ASCII characters', async () => {
    const accountId = await openAccount();
    // The UTF-8 bytes of "dép-1" as a gateway hands them over: each byte a latin1 character.
    const garbled = Buffer.from('dép-1', 'utf8').toString('latin1');
    const refused = [
      ['idempotency-key', garbled],
      ['idempotency-key', 'k'.repeat(201)],
      ['idempotency-key', ''],
      ['x-correlation-id', 'corrélation'],
      ['x-causation-id', 'tab\there'],
    ] as const;
    for (const [header, value] of refused) {
      const response = await post('Deposit', { accountId, amount: 1 }, { [header]: value });
      expect(response, `${header}: ${value}`).toMatchObject({
        statusCode: 400,
        body: { code: 'INVALID_COMMAND_ID', details: { issues: [{ path: `headers.${header}` }] } },
      });
      expect(response.headers['x-correlation-id']).not.toBe(value);
    }
    const longest = await post('Deposit', { accountId, amount: 1 }, { 'idempotency-key': `${'k'.repeat(199)}~` });
    expect(longest).toMatchObject({ statusCode: 200, body: { version: 2 } });
  });

  it('404: an unknown command type', async () => {
    const response = await post('Teleport', {});
    expect(response).toMatchObject({ statusCode: 404, body: { code: 'UNKNOWN_COMMAND_TYPE', details: { commandType: 'Teleport' } } });
  });

  it('409: a command id reused with another payload', async () => {
    const accountId = await openAccount();
    const key = { 'idempotency-key': crypto.randomUUID() };
    await post('Deposit', { accountId, amount: 1 }, key);
    const response = await post('Deposit', { accountId, amount: 2 }, key);
    expect(response).toMatchObject({ statusCode: 409, body: { code: 'IDEMPOTENCY_CONFLICT' } });
  });

  it('409: a concurrency conflict that outlasted the retries', () => {
    const response = parseResponse(errorResponse(new ConcurrencyError('account-1', 3, 4)));
    expect(response).toMatchObject({
      statusCode: 409,
      body: { code: 'CONCURRENCY_CONFLICT', details: { streamId: 'account-1', expectedVersion: 3, actualVersion: 4 } },
    });
  });

  it("a command id whose command failed before: the first refusal's status, COMMAND_FAILED_BEFORE, the recorded error", () => {
    const refusals = [
      [{ code: 'DOMAIN_RULE_VIOLATED', message: 'no overdraft', rule: 'INSUFFICIENT_FUNDS' }, 422],
      [{ code: 'VALIDATION_FAILED', message: 'Invalid command', details: { issues: [] } }, 400],
      [{ code: 'MAX_ATTEMPTS_EXCEEDED', message: 'gave up' }, 409],
      [null, 409],
    ] as const;
    for (const [recorded, statusCode] of refusals) {
      const response = parseResponse(errorResponse(new CommandFailedBeforeError('cmd-1', recorded)));
      expect(response).toMatchObject({ statusCode, body: { code: 'COMMAND_FAILED_BEFORE', details: { commandId: 'cmd-1', error: recorded } } });
    }
  });

  it('413: a body over the size limit', async () => {
    const response = await post('Deposit', { accountId: 'a', amount: 1, note: 'x'.repeat(300 * 1024) });
    expect(response).toMatchObject({ statusCode: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('415: a body that is not declared as JSON', async () => {
    const response = await post('Deposit', { accountId: 'a', amount: 1 }, { 'content-type': 'text/plain' });
    expect(response).toMatchObject({ statusCode: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('422: a broken business rule, with the rule and its details', async () => {
    const accountId = await openAccount();
    await post('Deposit', { accountId, amount: 10 });
    const response = await post('Withdraw', { accountId, amount: 11 });
    expect(response).toMatchObject({
      statusCode: 422,
      body: { code: 'DOMAIN_RULE_VIOLATED', details: { rule: 'INSUFFICIENT_FUNDS', balance: 10, requested: 11 } },
    });
  });

  it('422 recorded like an asynchronous refusal: the same key and payload answer it again, another payload 409, and the status says failed', async () => {
    const accountId = await openAccount();
    const key = { 'idempotency-key': crypto.randomUUID() };
    const refused = await post('Withdraw', { accountId, amount: 999_999 }, key);
    expect(refused).toMatchObject({ statusCode: 422, body: { code: 'DOMAIN_RULE_VIOLATED', details: { rule: 'INSUFFICIENT_FUNDS' } } });
    const again = await post('Withdraw', { accountId, amount: 999_999 }, key);
    expect(again).toMatchObject({ statusCode: 422, body: { code: 'COMMAND_FAILED_BEFORE' } });
    expect(await post('Deposit', { accountId, amount: 5 }, key)).toMatchObject({ statusCode: 409, body: { code: 'IDEMPOTENCY_CONFLICT' } });
    expect(await get(key['idempotency-key'])).toMatchObject({ statusCode: 200, body: { status: 'failed', error: { rule: 'INSUFFICIENT_FUNDS' } } });
  });

  it('50 concurrent deposits to one account all land, with the exact final balance', async () => {
    const accountId = await openAccount();
    const responses = await Promise.all(Array.from({ length: 50 }, (_, index) => post('Deposit', { accountId, amount: index + 1 })));
    expect(responses.map((response) => response.statusCode)).toEqual(Array.from({ length: 50 }, () => 200));
    const { db } = await getRuntime();
    const { rows } = await db.query<{ total: number; count: number }>(
      "SELECT sum((data->>'amount')::int)::int AS total, count(*)::int AS count FROM events WHERE stream_id = $1 AND type = 'MoneyDeposited'",
      [`account-${accountId}`],
    );
    expect(rows[0]).toEqual({ total: (50 * 51) / 2, count: 50 });
  });
});

describe('GET /commands/{id}', () => {
  it('200: a command that ran, with its status and outcome', async () => {
    const accountId = await openAccount();
    const commandId = crypto.randomUUID();
    await post('Deposit', { accountId, amount: 7 }, { 'idempotency-key': commandId });
    const response = await get(commandId);
    expect(response).toMatchObject({
      statusCode: 200,
      body: { commandId, commandType: 'Deposit', status: 'succeeded', outcome: { streamId: `account-${accountId}`, version: 2 } },
    });
  });

  it('404: a command id never seen', async () => {
    expect(await get(crypto.randomUUID())).toMatchObject({ statusCode: 404, body: { code: 'COMMAND_NOT_FOUND' } });
  });
});
