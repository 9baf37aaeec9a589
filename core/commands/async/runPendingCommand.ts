import type { Queryable } from '../../db';
import type { CommandBus } from '../commandBus';
import { IdempotencyConflictError } from '../errors';
import type { CommandFailure, CommandStatus } from './CommandStatus';
import { describeFailure, isVerdict } from './describeFailure';
import { getCommandStatus } from './getCommandStatus';
import { markFailed, readStoredCommand, recordUnfinishedRun } from './pendingCommandRecords';

/**
 * The stored row is the one the bus compares against, so a conflict here means
 * the schema parsed its own output into something else (a transform that is not
 * idempotent): say so, rather than blame a reused id.
 */
function failureOf(error: unknown): CommandFailure {
  if (!(error instanceof IdempotencyConflictError)) return describeFailure(error);
  return {
    code: 'PAYLOAD_NOT_REPLAYABLE',
    message: 'The stored payload parses to another payload: the command schema must accept its own output unchanged',
  };
}

/**
 * The worker: runs a stored pending command through the same bus as `execute`,
 * with its command id, so idempotency makes any re-run (a sweep's, a duplicate
 * delivery's) harmless. A refusal is recorded as `failed`. A run that ends
 * without a verdict is counted, stays pending for the sweep, and its error is
 * thrown, so that the caller (an async Lambda invocation) may retry too.
 * Resolves with the command's status, or undefined for an unknown id.
 */
export function runPendingCommandWith(db: Queryable, bus: CommandBus) {
  return async (commandId: string): Promise<CommandStatus | undefined> => {
    const stored = await readStoredCommand(db, commandId);
    if (!stored) return undefined;
    if (stored.status === 'pending') {
      try {
        await bus.execute({
          type: stored.commandType,
          payload: stored.payload,
          commandId,
          // The sender's context, so the events tell the same story as if it had run at once.
          correlationId: stored.correlationId,
          causationId: stored.causationId,
          traceparent: stored.traceparent,
        });
      } catch (error) {
        if (!isVerdict(error)) {
          // Counting fails too when the database is down; the run's own error is the one worth throwing.
          await recordUnfinishedRun(db, commandId, failureOf(error)).catch(() => undefined);
          throw error;
        }
        await markFailed(db, commandId, failureOf(error));
      }
    }
    return getCommandStatus(db, commandId);
  };
}
