import { DatabaseTimeoutError, isDatabaseUnavailable } from '../db';
import { CommandInterruptedError, CommandTimeoutError } from './errors';
import { isRefusal } from './isRefusal';

/**
 * What to throw for `error`, met while the command ran or was stored: a
 * failure after which the command may have been kept all the same (the
 * database's timeout, a lost connection) names the command's id, which the
 * caller may not know (the bus made it), so that it is sent again by that id
 * and not as a new command; anything else as it is.
 */
export function withCommandId(error: unknown, commandId: string, commandType: string): unknown {
  if (error instanceof DatabaseTimeoutError) return new CommandTimeoutError(commandId, commandType, error);
  if (!isRefusal(error) && isDatabaseUnavailable(error)) return new CommandInterruptedError(commandId, commandType, error);
  return error;
}
