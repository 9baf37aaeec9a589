import type * as LambdaSdkModule from '@aws-sdk/client-lambda';
import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';

type LambdaSdk = typeof LambdaSdkModule;

/** Invokes a function asynchronously: resolves once Lambda queued the payload. */
export type AsyncInvoker = (functionName: string, payload: unknown) => Promise<void>;

/**
 * Asynchronous invokes (`InvocationType: 'Event'`): Lambda queues the payload
 * and answers 202 at once; anything else means nothing was queued. The AWS SDK
 * is loaded at the first invoke, not when the function starts: loading it is
 * most of a cold start's import time, and most invocations never invoke.
 * One client per invoker, so warm invocations reuse its connections.
 */
export function asyncInvoker(clientConfig: LambdaClientConfig = {}): AsyncInvoker {
  let loading: Promise<{ client: LambdaClient; sdk: LambdaSdk }> | undefined;
  return async (functionName, payload) => {
    loading ??= import('@aws-sdk/client-lambda').then((sdk) => ({ client: new sdk.LambdaClient(clientConfig), sdk }));
    const { client, sdk } = await loading;
    const response = await client.send(
      new sdk.InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
    );
    if (response.StatusCode !== 202) {
      throw new Error(`Lambda ${functionName} did not queue the invocation (status ${String(response.StatusCode)})`);
    }
  };
}
