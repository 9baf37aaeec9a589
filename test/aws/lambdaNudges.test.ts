import { afterEach, describe, expect, it } from 'vitest';
import { lambdaNudges, nudgesFromEnv } from '../../functions/nudges';
import { startLocalLambda, type LocalLambda } from './localLambda';

const servers: LocalLambda[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('nudges after a commit', () => {
  it('invoke every named function asynchronously', async () => {
    const lambda = await startLocalLambda();
    servers.push(lambda);
    const nudges = lambdaNudges(['outbox-publisher', 'projector'], lambda.clientConfig);
    await nudges.afterCommit();
    expect(lambda.invokes.map((invoke) => [invoke.path, invoke.headers['x-amz-invocation-type'], invoke.body]).sort()).toEqual([
      ['/2015-03-31/functions/outbox-publisher/invocations', 'Event', '{"nudge":true}'],
      ['/2015-03-31/functions/projector/invocations', 'Event', '{"nudge":true}'],
    ]);
  });

  it('never fail the command that committed, even when Lambda refuses', async () => {
    const lambda = await startLocalLambda({ status: () => 500 });
    servers.push(lambda);
    const nudges = lambdaNudges(['outbox-publisher'], lambda.clientConfig);
    await expect(nudges.afterCommit()).resolves.toBeUndefined();
    expect(lambda.invokes.length).toBeGreaterThan(0);
  });

  it('wake in-process listeners when no function is named', async () => {
    const nudges = nudgesFromEnv({ NUDGE_FUNCTIONS: ' ' });
    const woken: number[] = [];
    nudges.onNudge(() => woken.push(1));
    nudges.onNudge(() => woken.push(2));
    await nudges.afterCommit();
    expect(woken).toEqual([1, 2]);
  });
});
