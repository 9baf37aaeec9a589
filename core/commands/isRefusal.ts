import { DomainError } from '../aggregates';
import { EventStoreError } from '../eventstore';
import { CommandFailedBeforeError, CommandValidationError, IdempotencyConflictError, UnknownCommandTypeError } from './errors';

/** The framework's own refusals of a command: their messages carry the caller's words, which may sound like anything (a lost connection). */
export const isRefusal = (error: unknown): boolean =>
  error instanceof DomainError ||
  error instanceof EventStoreError ||
  error instanceof CommandValidationError ||
  error instanceof UnknownCommandTypeError ||
  error instanceof IdempotencyConflictError ||
  error instanceof CommandFailedBeforeError;
