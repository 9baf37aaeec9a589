import type { LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { CommandDispatcher, WorkerEvent } from '../../core/commands';
import { asyncInvoker } from './invokeAsync';

export interface LambdaDispatcherOptions {
  /** The worker function's name, ARN or alias. */
  functionName: string;
  /** Region, credentials, a local `endpoint`; default the function's own. */
  clientConfig?: LambdaClientConfig;
}

/**
 * Hands a stored command to the worker Lambda, invoked asynchronously: Lambda
 * queues it and retries a worker that throws; if the invoke itself fails, the
 * caller reports it and the sweep re-drives the command. Build it once per
 * container, so warm invocations reuse the client's connections.
 */
export function createLambdaDispatcher(options: LambdaDispatcherOptions): CommandDispatcher {
  const invoke = asyncInvoker(options.clientConfig ?? {});
  return {
    dispatch: (commandId) => invoke(options.functionName, { commandId } satisfies WorkerEvent),
  };
}
