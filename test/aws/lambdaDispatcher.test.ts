import { afterEach, describe, expect, it } from 'vitest';
import { createAsyncCommands, parseWorkerEvent, type AsyncCommands } from '../../core/commands';
import { createLambdaDispatcher } from '../../functions/aws/lambdaDispatcher';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { age, busOn, newId, waitForStatus } from '../commands/async/asyncHarness';
import { startLocalLambda, type LocalLambda } from './localLambda';

const servers: LocalLambda[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
const started = async (options?: Parameters<typeof startLocalLambda>[0]) => {
  const server = await startLocalLambda(options);
  servers.push(server);
  return server;
};

describe('the Lambda dispatcher', () => {
  it('invokes the worker function asynchronously with the command id as its event', async () => {
    const lambda = await started();
    const dispatcher = createLambdaDispatcher({ functionName: 'command-worker', clientConfig: lambda.clientConfig });
    await dispatcher.dispatch('command-17');
    expect(lambda.invokes).toHaveLength(1);
    const [invoke] = lambda.invokes;
    expect(invoke?.method).toBe('POST');
    expect(invoke?.path).toBe('/2015-03-31/functions/command-worker/invocations');
    expect(invoke?.headers['x-amz-invocation-type']).toBe('Event');
    expect(invoke?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/lambda\/aws4_request/);
    expect(JSON.parse(invoke?.body ?? '')).toEqual({ commandId: 'command-17' });
  });

  it('rejects when Lambda does not queue the event', async () => {
    const lambda = await started({ status: () => 500 });
    const dispatcher = createLambdaDispatcher({ functionName: 'command-worker', clientConfig: lambda.clientConfig });
    await expect(dispatcher.dispatch('command-18')).rejects.toThrow();
  });

  it('rejects an answer other than 202, since only that means the event was queued', async () => {
    const lambda = await started({ status: () => 200 });
    const dispatcher = createLambdaDispatcher({ functionName: 'command-worker', clientConfig: lambda.clientConfig });
    await expect(dispatcher.dispatch('command-19')).rejects.toThrow('Lambda command-worker did not queue the invocation (status 200)');
  });
});

describeOnEachDriver('asynchronous commands through Lambda', (context) => {
  /** Async commands whose dispatches go to a local stand-in for Lambda that runs the worker as the function would. */
  const throughLambda = async (status?: () => number) => {
    const { db } = context();
    const runs: Promise<unknown>[] = [];
    const lambda = await started({
      ...(status ? { status } : {}),
      onInvoke: (invoke) => {
        if (invoke.path.endsWith('/invocations') && (status?.() ?? 202) === 202) {
          runs.push(commands.runPendingCommand(parseWorkerEvent(JSON.parse(invoke.body)).commandId));
        }
      },
    });
    const reported: string[] = [];
    const commands: AsyncCommands = createAsyncCommands({
      db,
      bus: busOn(db),
      dispatcher: createLambdaDispatcher({ functionName: 'command-worker', clientConfig: lambda.clientConfig }),
      onDispatchError: (_error, commandId) => reported.push(commandId),
    });
    return { commands, lambda, reported, settled: () => Promise.allSettled(runs) };
  };

  it('sends a command that the invoked worker then runs to success', async () => {
    const { commands, lambda, settled } = await throughLambda();
    const commandId = newId();
    const accountId = newId();
    expect(await commands.send({ type: 'OpenAccount', payload: { accountId, owner: 'ada', currency: 'EUR' }, commandId })).toEqual({
      commandId,
      status: 'pending',
    });
    expect(lambda.invokes.map((invoke) => JSON.parse(invoke.body) as unknown)).toEqual([{ commandId }]);
    expect(await waitForStatus(commands, commandId)).toMatchObject({ status: 'succeeded', outcome: { version: 1 } });
    await settled();
  });

  it('keeps the command pending when the invoke fails, and the sweep re-dispatches it', async () => {
    let healthy = false;
    const { commands, reported, settled } = await throughLambda(() => (healthy ? 202 : 503));
    const commandId = newId();
    const accountId = newId();
    const payload = { accountId, owner: 'ada', currency: 'EUR' };
    expect(await commands.send({ type: 'OpenAccount', payload, commandId })).toEqual({ commandId, status: 'pending' });
    expect(reported).toEqual([commandId]);
    expect(await commands.getCommandStatus(commandId)).toMatchObject({ status: 'pending' });

    healthy = true;
    await age(context().db, [commandId]);
    expect(await commands.sweepPendingCommands({ olderThanMs: 30 * 60_000 })).toEqual({ redispatched: [commandId], failed: [] });
    expect(await waitForStatus(commands, commandId)).toMatchObject({ status: 'succeeded', attempts: 1 });
    await settled();
  });
});
