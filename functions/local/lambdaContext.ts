import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A Lambda `Context` for one local invocation. The timeout is not enforced
 * (a slow handler runs to the end); it only makes `getRemainingTimeInMillis`
 * count down as on AWS, for code that budgets its work by it.
 */
export function createLambdaContext(options: { functionName: string; timeoutMs?: number; awsRequestId?: string }): Context {
  const { functionName } = options;
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  // The callback-era methods (deprecated, still in the type) are unused by async handlers: fail loudly if called.
  const unsupported = (name: string) => (): never => {
    throw new Error(`context.${name} is not supported locally: return (or throw) from the async handler instead`);
  };
  const callbackEra: Record<'done' | 'fail' | 'succeed', () => never> = {
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: options.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    ...callbackEra,
  };
}
