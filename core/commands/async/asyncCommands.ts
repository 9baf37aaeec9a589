import type { Queryable } from '../../db';
import type { CommandBus } from '../commandBus';
import type { CommandRequest } from '../validateCommand';
import { logErrorTo, type CommandDispatcher, type ErrorReporter } from './CommandDispatcher';
import type { CommandStatus, SendResult } from './CommandStatus';
import { getCommandStatus } from './getCommandStatus';
import { runPendingCommandWith } from './runPendingCommand';
import { sendCommand } from './sendCommand';
import { sweepPendingCommandsWith, type SweepOptions, type SweepResult } from './sweepPendingCommands';

export interface AsyncCommandsOptions {
  /** The database the bus writes to: the commands table is shared with `execute`. */
  db: Queryable;
  bus: CommandBus;
  /**
   * Where sent commands go. A dispatcher that runs the worker itself (in-process)
   * is given as a function of the worker, which exists only once this is built.
   */
  dispatcher: CommandDispatcher | ((runPendingCommand: AsyncCommands['runPendingCommand']) => CommandDispatcher);
  /** Dispatches that failed: the commands stay pending for the sweep. Logged to stderr by default. */
  onDispatchError?: ErrorReporter;
}

export interface AsyncCommands {
  /** Validates, stores as pending, dispatches, and answers at once. */
  send(request: CommandRequest): Promise<SendResult>;
  /** The worker: runs a pending command through the bus and records how it ended. */
  runPendingCommand(commandId: string): Promise<CommandStatus | undefined>;
  /** Re-dispatches commands pending too long; fails those out of attempts. */
  sweepPendingCommands(options?: Partial<SweepOptions>): Promise<SweepResult>;
  getCommandStatus(commandId: string): Promise<CommandStatus | undefined>;
}

/** Asynchronous dispatch over a command bus: send now, run in a worker, sweep what got lost. */
export function createAsyncCommands(options: AsyncCommandsOptions): AsyncCommands {
  const { db, bus } = options;
  const onDispatchError = options.onDispatchError ?? logErrorTo('command dispatch failed; the sweep will retry');
  const runPendingCommand = runPendingCommandWith(db, bus);
  const dispatcher = typeof options.dispatcher === 'function' ? options.dispatcher(runPendingCommand) : options.dispatcher;
  return {
    send: sendCommand({ db, bus, dispatcher, onDispatchError }),
    runPendingCommand,
    sweepPendingCommands: sweepPendingCommandsWith(db, dispatcher, onDispatchError),
    getCommandStatus: (commandId) => getCommandStatus(db, commandId),
  };
}
