import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as queryFunction } from '../../functions/http/query';
import { handler as projector } from '../../functions/projector';
import { apiGatewayEvent, lambdaContext, parseResponse, type JsonResponse } from '../support/apiGatewayEvent';
import { postCommandRequest } from '../support/commandHttp';
import { sleep } from '../support/fixtures';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

useAppOnTestDatabase();

async function getRequest(route: string, path: string, id: string, query?: Record<string, string>): Promise<JsonResponse> {
  const event: APIGatewayProxyEventV2 = {
    ...apiGatewayEvent({ method: 'GET', route, path, pathParameters: { id } }),
    ...(query ? { queryStringParameters: query, rawQueryString: new URLSearchParams(query).toString() } : {}),
  };
  return parseResponse(await queryFunction(event, lambdaContext()));
}

const account = (id: string) => getRequest('/accounts/{id}', `/accounts/${id}`, id);
const statement = (id: string, query?: Record<string, string>) =>
  getRequest('/accounts/{id}/statement', `/accounts/${id}/statement`, id, query);

/** The projector function as the schedule (or a nudge) invokes it. */
const runProjector = (payload: unknown) => projector(payload, lambdaContext('projector'));

describe('the account read endpoints, fed by the projector function', () => {
  const accountId = crypto.randomUUID();

  beforeAll(async () => {
    expect((await postCommandRequest('OpenAccount', { accountId, owner: 'Ada', currency: 'EUR' })).statusCode).toBe(200);
    for (const amount of [500, 250, 125]) {
      expect((await postCommandRequest('Deposit', { accountId, amount })).statusCode).toBe(200);
    }
    expect((await postCommandRequest('Withdraw', { accountId, amount: 75 })).statusCode).toBe(200);
    // A scheduled event and a bare nudge are both just "run now". Another test file's open
    // transaction can hold the feed's horizon back for a moment, so run until the last deposit shows.
    await runProjector({ 'detail-type': 'Scheduled Event', source: 'aws.scheduler', detail: {} });
    const deadline = Date.now() + 15_000;
    while ((await account(accountId)).body.version !== 5) {
      if (Date.now() > deadline) throw new Error('the projector did not reach the last deposit in 15 s');
      await runProjector({});
      await sleep(20);
    }
  });

  it('GET /accounts/{id}: 200 with the summary', async () => {
    const response = await account(accountId);
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ accountId, owner: 'Ada', currency: 'EUR', status: 'open', balance: 800, version: 5 });
  });

  it('GET /accounts/{id}/statement: 200, paged by cursor, with running balances', async () => {
    const first = await statement(accountId, { limit: '3' });
    expect(first.statusCode).toBe(200);
    const lines = first.body.lines as { balanceAfter: number; kind: string }[];
    expect(lines.map((line) => [line.kind, line.balanceAfter])).toEqual([
      ['deposit', 500],
      ['deposit', 750],
      ['deposit', 875],
    ]);
    expect(first.body.nextCursor).toBe('4');
    const next = await statement(accountId, { limit: '3', after: '4' });
    expect((next.body.lines as { balanceAfter: number }[]).map((line) => line.balanceAfter)).toEqual([800]);
    expect(next.body.nextCursor).toBeNull();
  });

  it('404 ACCOUNT_NOT_FOUND for an account nobody opened', async () => {
    const unknown = crypto.randomUUID();
    for (const response of [await account(unknown), await statement(unknown)]) {
      expect(response.statusCode).toBe(404);
      expect(response.body).toEqual({ code: 'ACCOUNT_NOT_FOUND', message: `No account ${unknown}`, details: { accountId: unknown } });
    }
  });

  it('400 INVALID_PAGE for a bad limit or cursor, naming the parameter', async () => {
    for (const [query, path] of [
      [{ limit: '0' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ after: 'abc' }, 'after'],
      [{ after: '2147483648' }, 'after'],
    ] as const) {
      const response = await statement(accountId, query);
      expect(response.statusCode, JSON.stringify(query)).toBe(400);
      expect(response.body).toMatchObject({ code: 'INVALID_PAGE', details: { issues: [{ path }] } });
    }
  });
});
