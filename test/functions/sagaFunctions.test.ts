import { describe, expect, it } from 'vitest';
import { handler as sagaProcessor } from '../../functions/sagaProcessor';
import { handler as sagaSweeper } from '../../functions/sagaSweeper';
import { handler as query } from '../../functions/http/query';
import { apiGatewayEvent, lambdaContext, parseResponse } from '../support/apiGatewayEvent';
import { postCommandRequest } from '../support/commandHttp';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';

useAppOnTestDatabase({ env: { COMMAND_WORKER_FUNCTION: undefined, NUDGE_FUNCTIONS: undefined } });

const transfer = async (transferId: string) =>
  parseResponse(await query(apiGatewayEvent({ method: 'GET', route: '/transfers/{id}', path: `/transfers/${transferId}`, pathParameters: { id: transferId } }), lambdaContext()));

describe('the saga functions, as their schedules and nudges invoke them', () => {
  it('the saga processor starts a requested transfer and runs its steps to the end; the sweeper then finds nothing to do', async () => {
    for (const accountId of ['fn-ada', 'fn-bob']) expect((await postCommandRequest('OpenAccount', { accountId, owner: accountId, currency: 'EUR' })).statusCode).toBe(200);
    await postCommandRequest('Deposit', { accountId: 'fn-ada', amount: 90 });
    await postCommandRequest('RequestTransfer', { transferId: 'fn-t1', fromAccountId: 'fn-ada', toAccountId: 'fn-bob', amount: 90, currency: 'EUR' });
    expect(await transfer('fn-t1')).toMatchObject({ statusCode: 200, body: { status: 'requested', saga: null } });

    // A scheduled event and a bare nudge are both "run now"; another file's open transaction may hold the feed back a moment.
    for (let attempt = 0; attempt < 50 && (await transfer('fn-t1')).body.status !== 'completed'; attempt += 1) {
      await sagaProcessor({ 'detail-type': 'Scheduled Event', source: 'aws.scheduler', detail: {} }, lambdaContext('saga-processor'));
    }
    expect(await transfer('fn-t1')).toMatchObject({ body: { status: 'completed', saga: { phase: 'completed' } } });

    // Close to its time limit, the sweeper sweeps once and returns instead of watching.
    await expect(sagaSweeper({}, lambdaContext('saga-sweeper', 5_500))).resolves.toBeUndefined();
  });
});
