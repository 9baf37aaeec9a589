import type { Queryable } from '../../db';
import type { CommandBus } from '../commandBus';
import { IdempotencyConflictError } from '../errors';
import { withCommandId } from '../withCommandId';
import type { CommandEnvelope } from '../pipeline';
import type { CommandRequest } from '../validateCommand';
import type { CommandDispatcher, ErrorReporter } from './CommandDispatcher';
import type { SendResult } from './CommandStatus';
import { readStoredCommand, storePending } from './pendingCommandRecords';

export interface SendDependencies {
  db: Queryable;
  bus: CommandBus;
  dispatcher: CommandDispatcher;
  onDispatchError: ErrorReporter;
}

/**
 * Validates a command, stores it as pending and hands it to a worker, answering
 * at once. The command id is the idempotency key: the same id and payload again
 * answer the command's current status without storing or dispatching it twice.
 */
export function sendCommand(dependencies: SendDependencies) {
  return async (request: CommandRequest): Promise<SendResult> => {
    // Inside the async function, so a validation error is a rejection, and nothing is stored.
    const envelope = dependencies.bus.validate(request);
    try {
      return await storeAndDispatch(dependencies, envelope);
    } catch (error) {
      // An unanswered store, or one whose reply was lost, may have committed, and the sweep
      // then runs the command: the caller must learn its id, to send it again by that id.
      throw withCommandId(error, envelope.context.commandId, envelope.definition.type);
    }
  };
}

/** Stores the command as pending, unless its id is taken, and dispatches it: its status then. */
async function storeAndDispatch({ db, dispatcher, onDispatchError }: SendDependencies, envelope: CommandEnvelope): Promise<SendResult> {
  const { commandId, correlationId, causationId, traceparent } = envelope.context;
  const commandType = envelope.definition.type;
  const stored = await storePending(db, {
    commandId,
    commandType,
    payloadHash: envelope.payloadHash,
    payload: envelope.payload,
    correlationId,
    causationId,
    traceparent,
  });
  if (!stored) {
    const existing = await readStoredCommand(db, commandId);
    // Only a deleted row gets here: store nothing rather than guess.
    if (!existing) throw new Error(`Command ${commandId} vanished while being sent`);
    if (existing.commandType !== commandType || existing.payloadHash !== envelope.payloadHash) {
      throw new IdempotencyConflictError(commandId);
    }
    return { commandId, status: existing.status };
  }
  try {
    await dispatcher.dispatch(commandId);
  } catch (error) {
    // The command is stored: the sweep re-dispatches it, so the sender still gets its 202.
    onDispatchError(error, commandId);
  }
  return { commandId, status: 'pending' };
}
