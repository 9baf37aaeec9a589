import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { NUDGE_BUDGET_MS, postCommandHandler } from '../../functions/http/commandHandlers';
import { lambdaNudges } from '../../functions/nudges';
import { runtimeLoader, type FunctionRuntime } from '../../functions/runtime';
import { startLocalLambda, type LocalLambda } from '../aws/localLambda';
import { parseResponse } from '../support/apiGatewayEvent';
import { postCommandEvent } from '../support/commandHttp';
import { sleep } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// Far beyond the budget, and beyond any pause a loaded runner adds to a command.
const LAMBDA_API_DELAY_MS = 10_000;

describe('a command whose nudges hang (the Lambda API slow or unreachable)', () => {
  let database: TestDatabase;
  let lambda: LocalLambda;
  let runtime: FunctionRuntime;
  beforeAll(async () => {
    database = await createTestDatabase();
    lambda = await startLocalLambda({ delayMs: LAMBDA_API_DELAY_MS });
    runtime = await runtimeLoader(bankService, { env: { ...process.env, DATABASE_URL: database.url } })();
  });
  afterAll(async () => {
    await runtime.db.close();
    await lambda.close();
    await database.drop();
  });

  it('is answered without waiting for Lambda to take them, and they are still sent', async () => {
    const nudges = lambdaNudges(['publisher', 'projector'], lambda.clientConfig);
    const handler = postCommandHandler(() => Promise.resolve({ ...runtime, nudges }));
    const started = performance.now();
    const response = parseResponse(await handler(postCommandEvent('OpenAccount', { accountId: crypto.randomUUID(), owner: 'ada', currency: 'EUR' })));
    const elapsedMs = performance.now() - started;

    expect(response).toMatchObject({ statusCode: 200, body: { version: 1 } });
    expect(NUDGE_BUDGET_MS).toBeLessThanOrEqual(100);
    expect(elapsedMs).toBeLessThan(LAMBDA_API_DELAY_MS / 2);
    // They still go out while the process runs (in Lambda, a frozen container sends them when next thawed).
    for (let waited = 0; lambda.invokes.length < 2 && waited < 5_000; waited += 50) await sleep(50);
    expect(lambda.invokes.map((invoke) => invoke.path).sort()).toEqual([
      '/2015-03-31/functions/projector/invocations',
      '/2015-03-31/functions/publisher/invocations',
    ]);
  });
});
