import { parseWorkerEvent } from '../core/commands';
import { log, runInContext } from '../core/observability';
import { lambdaEntry } from './lambdaEntry';
import { getRuntime } from './runtime';

/**
 * Runs one stored command, invoked asynchronously by the command endpoint or the
 * sweeper. A failure that is not a verdict is rethrown, so Lambda's own retries
 * and the sweep try again; idempotency makes every re-run harmless.
 */
async function runCommand(event: unknown): Promise<void> {
  const { commandId } = parseWorkerEvent(event);
  const { asyncCommands, nudges } = await getRuntime();
  // The command runs in the context it was sent with (the bus restores it); this line names it.
  const status = await runInContext({ correlationId: commandId, commandId }, () => asyncCommands.runPendingCommand(commandId));
  if (status?.status === 'succeeded') await nudges.afterCommit();
  log.info('command run', { commandId, status: status?.status });
}

export const handler = lambdaEntry(runCommand);
