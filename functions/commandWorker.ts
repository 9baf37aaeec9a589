import { parseWorkerEvent } from '../core/commands';
import { lambdaEntry } from './lambdaEntry';
import { getRuntime } from './runtime';
import { logger } from './observability';

/**
 * Runs one stored command, invoked asynchronously by the command endpoint or the
 * sweeper. A failure that is not a verdict is rethrown, so Lambda's own retries
 * and the sweep try again; idempotency makes every re-run harmless.
 */
async function runCommand(event: unknown): Promise<void> {
  const { commandId } = parseWorkerEvent(event);
  logger.appendKeys({ commandId });
  const { asyncCommands, nudges } = await getRuntime();
  const status = await asyncCommands.runPendingCommand(commandId);
  if (status?.status === 'succeeded') await nudges.afterCommit();
  logger.info('command run', { status: status?.status });
}

export const handler = lambdaEntry(runCommand);
