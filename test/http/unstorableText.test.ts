import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as queryFunction } from '../../functions/http/query';
import { handler as projector } from '../../functions/projector';
import { apiGatewayEvent, lambdaContext, parseResponse } from '../support/apiGatewayEvent';
import { getCommandRequest, postCommandRequest } from '../support/commandHttp';
import { MAX_NESTING_DEPTH } from '../../core/text';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

useAppOnTestDatabase();

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\ud800b';

/** The 400 for text PostgreSQL cannot store, naming each place it was found. */
const invalidText = (...paths: string[]) => ({
  statusCode: 400,
  body: { code: 'INVALID_TEXT', details: { issues: paths.map((path) => ({ path, message: expect.any(String) as unknown })) } },
});

const openAccountBody = (accountId: string, extra = '') =>
  `{"accountId":"${accountId}","owner":"ada","currency":"EUR"${extra}}`;

describe('text PostgreSQL cannot store (NUL, a lone UTF-16 surrogate) is refused at the edge: 400 INVALID_TEXT, naming where', () => {
  it('in a JSON body string or key, the escape written literally in the JSON, sent synchronously or not', async () => {
    expect(await postCommandRequest('OpenAccount', openAccountBody('a\\ud800b'))).toMatchObject(invalidText('body.accountId'));
    expect(await postCommandRequest('OpenAccount', openAccountBody('acc-1', ',"note\\udc00":"\\u0000"'))).toMatchObject(
      invalidText('body.note\udc00', 'body.note\udc00'),
    );
    const key = crypto.randomUUID();
    const sent = await postCommandRequest('OpenAccount', openAccountBody('a\\ud800b'), { prefer: 'respond-async', 'idempotency-key': key });
    expect(sent).toMatchObject(invalidText('body.accountId'));
    expect((await getCommandRequest(key)).statusCode).toBe(404);
  });

  it('a JSON body nested deeper than PostgreSQL stores, though far below the size limit (40 KB, 20,000 levels)', async () => {
    const bodyWithin = (depth: number) => `{"accountId":${'['.repeat(depth)}${']'.repeat(depth)},"amount":1}`;
    const response = await postCommandRequest('Deposit', bodyWithin(20_000));
    expect(response).toMatchObject({ statusCode: 400, body: { code: 'INVALID_TEXT' } });
    expect(JSON.stringify(response.body)).toContain(`nested more than ${MAX_NESTING_DEPTH}`);
    // The body counts as one level: at the limit, it is read, and its schema answers.
    expect(await postCommandRequest('Deposit', bodyWithin(MAX_NESTING_DEPTH))).toMatchObject({ statusCode: 400, body: { code: 'INVALID_TEXT' } });
    expect(await postCommandRequest('Deposit', bodyWithin(MAX_NESTING_DEPTH - 1))).toMatchObject({ statusCode: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it.each(['idempotency-key', 'x-correlation-id', 'x-causation-id', 'traceparent'])('in the %s header', async (header) => {
    for (const value of [NUL, LONE_SURROGATE]) {
      const response = await postCommandRequest('OpenAccount', openAccountBody(crypto.randomUUID()), { [header]: value });
      expect(response).toMatchObject(invalidText(`headers.${header}`));
      expect(response.headers['x-correlation-id']).not.toBe(value);
    }
  });

  it('in a command id or type in the path', async () => {
    expect(await getCommandRequest(NUL)).toMatchObject(invalidText('path.command'));
    expect(await getCommandRequest(LONE_SURROGATE)).toMatchObject(invalidText('path.command'));
    expect(await postCommandRequest(NUL, { accountId: 'acc-1' })).toMatchObject(invalidText('path.command'));
  });

  describe('on the account endpoints', () => {
    beforeAll(async () => {
      // The read models' tables exist once the projector has run: the query then reaches PostgreSQL.
      await projector({}, lambdaContext('projector'));
    });

    const read = async (route: '/accounts/{id}' | '/accounts/{id}/statement', id: string, query?: Record<string, string>) => {
      const event: APIGatewayProxyEventV2 = {
        ...apiGatewayEvent({ method: 'GET', route, path: route.replace('{id}', encodeURIComponent(id)), pathParameters: { id } }),
        ...(query ? { queryStringParameters: query } : {}),
      };
      return parseResponse(await queryFunction(event, lambdaContext()));
    };

    it('in the account id, and in the statement page query', async () => {
      expect(await read('/accounts/{id}', NUL)).toMatchObject(invalidText('path.id'));
      expect(await read('/accounts/{id}/statement', NUL)).toMatchObject(invalidText('path.id'));
      expect(await read('/accounts/{id}/statement', 'acc-1', { after: NUL, limit: LONE_SURROGATE })).toMatchObject(
        invalidText('query.after', 'query.limit'),
      );
    });
  });
});
