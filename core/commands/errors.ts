import type { DatabaseTimeoutError } from '../db';

export interface FieldIssue {
  /** Where the problem is in the payload, e.g. `amount` or `lines.2.sku`; `(payload)` for the whole. */
  path: string;
  message: string;
}

/** No command of this type is registered. */
export class UnknownCommandTypeError extends Error {
  readonly code = 'UNKNOWN_COMMAND_TYPE';
  constructor(readonly commandType: string) {
    super(`Unknown command type ${commandType}`);
    this.name = 'UnknownCommandTypeError';
  }
}

/** The command's payload or ids are invalid; `issues` lists every invalid field. */
export class CommandValidationError extends Error {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: readonly FieldIssue[]) {
    super(`Invalid command: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
    this.name = 'CommandValidationError';
  }
}

/** The command id was used before for another command type or payload. */
export class IdempotencyConflictError extends Error {
  readonly code = 'IDEMPOTENCY_CONFLICT';
  constructor(readonly commandId: string) {
    super(`Command id ${commandId} was already used with another payload`);
    this.name = 'IdempotencyConflictError';
  }
}

/** The command ran before and failed; its recorded error is the answer. */
export class CommandFailedBeforeError extends Error {
  readonly code = 'COMMAND_FAILED_BEFORE';
  constructor(
    readonly commandId: string,
    readonly recordedError: unknown,
  ) {
    super(`Command ${commandId} failed before`);
    this.name = 'CommandFailedBeforeError';
  }
}

/**
 * The database did not answer in time while the command ran (DatabaseTimeoutError,
 * its cause). Unless no connection could be opened, the command may have been
 * kept all the same: sent again with `commandId`, it is kept once.
 */
export class CommandTimeoutError extends Error {
  readonly code = 'DATABASE_TIMEOUT';
  readonly waitingFor: DatabaseTimeoutError['waitingFor'];
  constructor(
    readonly commandId: string,
    readonly commandType: string,
    cause: DatabaseTimeoutError,
  ) {
    super(`Command ${commandId} (${commandType}): ${cause.message}`, { cause });
    this.name = 'CommandTimeoutError';
    this.waitingFor = cause.waitingFor;
  }

}

/**
 * The database or the way to it failed while the command ran or was stored (a
 * lost connection, the server going away, its cause), after any retries; so
 * does a connection the handler made that failed as a lost one does. The
 * command may have been kept all the same (a reply lost after its commit):
 * sent again with `commandId`, it is kept once; sent as a new command, it
 * could be kept twice.
 */
export class CommandInterruptedError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(
    readonly commandId: string,
    readonly commandType: string,
    cause: unknown,
  ) {
    super(`Command ${commandId} (${commandType}): a connection was lost while it ran (${cause instanceof Error ? cause.message : String(cause)}); it may have been kept`, { cause });
    this.name = 'CommandInterruptedError';
  }
}
