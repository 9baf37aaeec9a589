import { log } from '../../observability';

/**
 * Hands a stored command to a worker. Fire-and-forget by contract: resolving
 * means the hand-off was accepted, not that the command ran. A dispatch that is
 * lost after resolving is safe, because the sweep re-dispatches what stays pending.
 */
export interface CommandDispatcher {
  dispatch(commandId: string): Promise<void>;
}

/** The worker's entry point, as a dispatcher that runs it needs it (this breaks the dispatcher/worker cycle). */
export type RunPendingCommand = (commandId: string) => Promise<unknown>;

/** Where failures that no caller will see go: dispatch errors, background runs. */
export type ErrorReporter = (error: unknown, commandId: string) => void;

/** The default reporter: an error line through core's logger. */
export function logErrorTo(what: string): ErrorReporter {
  return (error, commandId) => {
    log.error(what, { commandId, error: error instanceof Error ? error.message : String(error) });
  };
}
