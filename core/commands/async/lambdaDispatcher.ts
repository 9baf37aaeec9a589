import { InvokeCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { CommandDispatcher } from './CommandDispatcher';
import { encodeWorkerEvent } from './workerEvent';

export interface LambdaDispatcherOptions {
  /** The worker function's name, ARN or alias. */
  functionName: string;
  /** A client of your own; otherwise one is built from `clientConfig` (region, credentials, a local `endpoint`). */
  client?: LambdaClient;
  clientConfig?: LambdaClientConfig;
}

/**
 * Invokes the worker Lambda asynchronously (`InvocationType: 'Event'`): Lambda
 * queues the event and answers 202 at once, and retries a worker that throws.
 * Build it once per container, so warm invocations reuse the client's connections.
 */
export function createLambdaDispatcher(options: LambdaDispatcherOptions): CommandDispatcher {
  const client = options.client ?? new LambdaClient(options.clientConfig ?? {});
  const { functionName } = options;
  return {
    async dispatch(commandId) {
      const response = await client.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: encodeWorkerEvent({ commandId }) }),
      );
      // Anything but 202 means the event was not queued; the caller reports it and the sweep retries.
      if (response.StatusCode !== 202) {
        throw new Error(`Lambda ${functionName} did not queue command ${commandId} (status ${String(response.StatusCode)})`);
      }
    },
  };
}
