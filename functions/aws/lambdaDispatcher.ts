import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { CommandDispatcher, WorkerEvent } from '../../core/commands';
import { invokeAsync } from './invokeAsync';

export interface LambdaDispatcherOptions {
  /** The worker function's name, ARN or alias. */
  functionName: string;
  /** A client of your own; otherwise one is built from `clientConfig` (region, credentials, a local `endpoint`). */
  client?: LambdaClient;
  clientConfig?: LambdaClientConfig;
}

/**
 * Hands a stored command to the worker Lambda, invoked asynchronously: Lambda
 * queues it and retries a worker that throws; if the invoke itself fails, the
 * caller reports it and the sweep re-drives the command. Build it once per
 * container, so warm invocations reuse the client's connections.
 */
export function createLambdaDispatcher(options: LambdaDispatcherOptions): CommandDispatcher {
  const client = options.client ?? new LambdaClient(options.clientConfig ?? {});
  return {
    dispatch: (commandId) => invokeAsync(client, options.functionName, { commandId } satisfies WorkerEvent),
  };
}
