import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRoutes } from '../../functions/http/httpRoutes';
import { startLocalServer, type LocalServer } from '../../functions/local';
import { handler as projector } from '../../functions/projector';
import { lambdaContext } from '../support/apiGatewayEvent';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

useAppOnTestDatabase();

/** The HTTP API over real HTTP, as `npm run dev` serves it (here on PostgreSQL). */
describe('the HTTP API on the local runtime', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startLocalServer({ port: 0, routes: httpRoutes });
    // The read models' tables exist once the projector has run: account reads then reach PostgreSQL.
    await projector({}, lambdaContext('projector'));
  });
  afterAll(() => server.close());

  const send = async (method: string, path: string, body?: string) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  };

  it('400 INVALID_TEXT for a lone UTF-16 surrogate in the body (the escape written in the JSON) or %00 in a path id', async () => {
    const refusals = [
      await send('POST', '/commands/OpenAccount', '{"accountId":"a\\ud800b","owner":"ada","currency":"EUR"}'),
      await send('GET', '/accounts/a%00b'),
      await send('GET', '/accounts/a%00b/statement'),
      await send('GET', '/commands/a%00b'),
      await send('POST', '/commands/a%00b', '{"accountId":"acc-1"}'),
    ];
    expect(refusals.map((response) => [response.status, response.body.code])).toEqual(Array.from(refusals, () => [400, 'INVALID_TEXT']));
  });

  it('405 METHOD_NOT_ALLOWED with Allow for a known path, 404 ROUTE_NOT_FOUND for an unknown one', async () => {
    const wrongMethod = await send('PUT', '/commands/Deposit', '{}');
    expect(wrongMethod).toMatchObject({ status: 405, body: { code: 'METHOD_NOT_ALLOWED', details: { allowed: ['GET', 'POST'] } } });
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    expect(await send('DELETE', '/accounts/acc-1')).toMatchObject({ status: 405, body: { details: { allowed: ['GET'] } } });
    expect(await send('GET', '/accounts')).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND', message: 'No route for GET /accounts' } });
  });
});
