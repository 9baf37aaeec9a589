import { describe, expect, it } from 'vitest';
import { payloadHash } from '../../core/commands';
import { getRuntime } from '../../functions/runtime';
import { handler as commandSweeper } from '../../functions/commandSweeper';
import { handler as commandWorker } from '../../functions/commandWorker';
import { lambdaContext } from '../support/apiGatewayEvent';
import { getCommandRequest, postCommandRequest } from '../support/commandHttp';
import { sleep } from '../support/fixtures';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

useAppOnTestDatabase({ env: { COMMAND_WORKER_FUNCTION: undefined } });

const post = postCommandRequest;
const status = getCommandRequest;
const statusOnceSettled = async (id: string) => {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const response = await status(id);
    if (response.body.status !== 'pending') return response;
    await sleep(20);
  }
  throw new Error(`command ${id} stayed pending`);
};
/** A command stored as pending, as if its dispatch had been lost `ageMs` ago. */
const givenPendingCommand = async (type: string, payload: Record<string, unknown>, ageMs = 0) => {
  const commandId = crypto.randomUUID();
  const { db } = await getRuntime();
  await db.query(
    `INSERT INTO commands (command_id, command_type, payload_hash, payload, correlation_id, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'corr', 'pending', now() - make_interval(secs => $5 / 1000.0), now() - make_interval(secs => $5 / 1000.0))`,
    [commandId, type, payloadHash(type, payload), JSON.stringify(payload), ageMs],
  );
  return commandId;
};

describe('asynchronous commands over HTTP', () => {
  it('202 with Prefer: respond-async, then the status shows the outcome once the worker ran it', async () => {
    const accountId = crypto.randomUUID();
    const accepted = await post('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' }, { prefer: 'respond-async' });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'pending' });
    const commandId = String(accepted.body.commandId);
    expect(accepted.headers.location).toBe(`/commands/${commandId}`);

    const settled = await statusOnceSettled(commandId);
    expect(settled.body).toMatchObject({ commandId, status: 'succeeded', outcome: { streamId: `account-${accountId}`, version: 1 } });
  });

  it("the worker writes the sender's correlation id, causation id and traceparent on the command's events", async () => {
    const accountId = crypto.randomUUID();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const accepted = await post(
      'OpenAccount',
      { accountId, owner: 'di', currency: 'EUR' },
      { prefer: 'respond-async', 'x-correlation-id': 'checkout-17', 'x-causation-id': 'event-41', traceparent },
    );
    const commandId = String(accepted.body.commandId);
    expect((await statusOnceSettled(commandId)).body).toMatchObject({ status: 'succeeded' });

    const { store } = await getRuntime();
    const { events } = await store.readStream(`account-${accountId}`);
    expect(events.map((event) => event.metadata)).toEqual([
      { correlationId: 'checkout-17', causationId: 'event-41', commandId, traceparent },
    ]);
  });

  it('a refused asynchronous command ends failed, with the rule', async () => {
    const accepted = await post('Deposit', { accountId: crypto.randomUUID(), amount: 5 }, { prefer: 'respond-async' });
    const settled = await statusOnceSettled(String(accepted.body.commandId));
    expect(settled.body).toMatchObject({ status: 'failed', error: { code: 'DOMAIN_RULE_VIOLATED', rule: 'ACCOUNT_NOT_FOUND' } });
  });

  it('a synchronous resend of a refused asynchronous command answers its refusal again: 422 COMMAND_FAILED_BEFORE', async () => {
    const payload = { accountId: crypto.randomUUID(), amount: 5 };
    const key = { 'idempotency-key': crypto.randomUUID() };
    const accepted = await post('Deposit', payload, { ...key, prefer: 'respond-async' });
    expect((await statusOnceSettled(String(accepted.body.commandId))).body).toMatchObject({ status: 'failed' });

    const resent = await post('Deposit', payload, key);
    expect(resent).toMatchObject({
      statusCode: 422,
      body: {
        code: 'COMMAND_FAILED_BEFORE',
        details: { commandId: key['idempotency-key'], error: { code: 'DOMAIN_RULE_VIOLATED', rule: 'ACCOUNT_NOT_FOUND' } },
      },
    });
  });

  it('400 for an invalid asynchronous command, and nothing is stored', async () => {
    const refused = await post('Deposit', { accountId: '', amount: 0 }, { prefer: 'respond-async', 'idempotency-key': 'never-stored' });
    expect(refused.statusCode).toBe(400);
    expect((await status('never-stored')).statusCode).toBe(404);
  });
});

describe('the worker and sweeper functions', () => {
  it('the worker runs a stored pending command', async () => {
    const accountId = crypto.randomUUID();
    const commandId = await givenPendingCommand('OpenAccount', { accountId, owner: 'bo', currency: 'EUR' });
    await commandWorker({ commandId }, lambdaContext('CommandWorker'));
    expect((await status(commandId)).body).toMatchObject({ status: 'succeeded', outcome: { version: 1 } });
  });

  it('the worker refuses an event without a command id', async () => {
    await expect(commandWorker({ nothing: true }, lambdaContext('CommandWorker'))).rejects.toThrow();
  });

  it('the sweeper re-drives a command whose dispatch was lost', async () => {
    const accountId = crypto.randomUUID();
    const commandId = await givenPendingCommand('OpenAccount', { accountId, owner: 'cy', currency: 'EUR' }, 10 * 60_000);
    await commandSweeper({}, lambdaContext('CommandSweeper'));
    expect((await statusOnceSettled(commandId)).body).toMatchObject({ status: 'succeeded' });
  });
});
