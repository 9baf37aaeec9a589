import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';

/**
 * Invokes a function asynchronously (`InvocationType: 'Event'`): Lambda queues
 * the payload and answers 202 at once. Anything else means nothing was queued.
 */
export async function invokeAsync(client: LambdaClient, functionName: string, payload: unknown): Promise<void> {
  const response = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  if (response.StatusCode !== 202) {
    throw new Error(`Lambda ${functionName} did not queue the invocation (status ${String(response.StatusCode)})`);
  }
}
