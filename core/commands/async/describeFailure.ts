import { DomainError } from '../../aggregates';
import { EventValidationError } from '../../eventstore';
import { storableJson } from '../../text';
import {
  CommandFailedBeforeError,
  CommandValidationError,
  IdempotencyConflictError,
  UnknownCommandTypeError,
} from '../errors';
import type { CommandFailure } from './CommandStatus';

// instanceof on the generic class leaves the rule's type open; this guard pins it to a string.
const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;

/**
 * Failures that say the command itself is refused: running it again would fail
 * the same way, so it is recorded as failed. Anything else (a database outage
 * beyond the bus's retries, a bug) leaves it pending, so the sweep can try again
 * later, when the outage is over or a fix is deployed.
 */
export function isVerdict(error: unknown): boolean {
  return (
    isDomainError(error) ||
    error instanceof CommandValidationError ||
    // What the command decided the store cannot take (an integration message with a reserved header, say): as invalid through execute.
    error instanceof EventValidationError ||
    error instanceof UnknownCommandTypeError ||
    error instanceof IdempotencyConflictError ||
    error instanceof CommandFailedBeforeError
  );
}

const hasKeys = (value: Readonly<Record<string, unknown>>) => Object.keys(value).length > 0;

/**
 * The JSON error stored for a failure; only what a caller may see (no stack
 * traces). A refusal of bad input may quote it (an issue's path holds a header
 * name): text PostgreSQL cannot store is written as U+FFFD, or the verdict
 * could never be recorded, and the command would be run again and again.
 */
export function describeFailure(error: unknown): CommandFailure {
  return JSON.parse(storableJson(JSON.stringify(failureOf(error)))) as CommandFailure;
}

function failureOf(error: unknown): CommandFailure {
  if (isDomainError(error)) {
    return {
      code: error.code,
      message: error.message,
      rule: error.rule,
      ...(hasKeys(error.details) ? { details: { ...error.details } } : {}),
    };
  }
  if (error instanceof CommandValidationError || error instanceof EventValidationError) {
    return { code: error.code, message: error.message, details: { issues: error.issues } };
  }
  if (error instanceof Error) {
    const { code } = error as { code?: unknown };
    return { code: typeof code === 'string' ? code : error.name, message: error.message };
  }
  return { code: 'UNKNOWN_FAILURE', message: String(error) };
}
