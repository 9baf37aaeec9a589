import type { ExpectedVersion } from './types';

export type EventStoreErrorCode =
  | 'CONCURRENCY_CONFLICT'
  | 'STREAM_NOT_FOUND'
  | 'STREAM_TYPE_MISMATCH'
  | 'DUPLICATE_EVENT'
  | 'VALIDATION_FAILED'
  | 'APPEND_NOT_FIRST_WRITE'
  | 'COMMAND_ALREADY_RECORDED';

/** Base of every error the event store raises on purpose; `code` discriminates them. */
export abstract class EventStoreError extends Error {
  abstract readonly code: EventStoreErrorCode;
}

export class ConcurrencyError extends EventStoreError {
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
    /** The stream's version when the append was refused; 0 if it does not exist. */
    readonly actualVersion: number,
  ) {
    super(`Stream ${streamId}: expected version ${String(expectedVersion)}, actual ${actualVersion}`);
    this.name = 'ConcurrencyError';
  }
}

export class StreamNotFoundError extends EventStoreError {
  readonly code = 'STREAM_NOT_FOUND';
  constructor(readonly streamId: string) {
    super(`Stream ${streamId} does not exist`);
    this.name = 'StreamNotFoundError';
  }
}

export class StreamTypeMismatchError extends EventStoreError {
  readonly code = 'STREAM_TYPE_MISMATCH';
  constructor(
    readonly streamId: string,
    readonly storedType: string,
    readonly requestedType: string,
  ) {
    super(`Stream ${streamId} has type ${storedType}, not ${requestedType}`);
    this.name = 'StreamTypeMismatchError';
  }
}

export class DuplicateEventError extends EventStoreError {
  readonly code = 'DUPLICATE_EVENT';
  constructor(readonly streamId: string) {
    super(`An event id appended to stream ${streamId} is already stored`);
    this.name = 'DuplicateEventError';
  }
}

export interface ValidationIssue {
  /** Where the problem is, e.g. `events.2.data`. */
  path: string;
  message: string;
}

/** Input the store refuses, an append's or a read's, with every problem at once. */
export class EventValidationError extends EventStoreError {
  readonly code = 'VALIDATION_FAILED';
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`Invalid event store input: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
    this.name = 'EventValidationError';
  }
}

/** The append was not the first write of its transaction, so feed order could not be guaranteed. */
export class AppendNotFirstWriteError extends EventStoreError {
  readonly code = 'APPEND_NOT_FIRST_WRITE';
  constructor(readonly streamId: string) {
    super(
      `Append to ${streamId} must be the first write of its transaction: an earlier write, row lock (FOR UPDATE, FOR SHARE) or logged nextval gave the transaction an older id; append first`,
    );
    this.name = 'AppendNotFirstWriteError';
  }
}

/** The append's command already has an outcome (or was recorded with another payload); nothing was stored. */
export class CommandAlreadyRecordedError extends EventStoreError {
  readonly code = 'COMMAND_ALREADY_RECORDED';
  constructor(readonly commandId: string) {
    super(`Command ${commandId} already has an outcome`);
    this.name = 'CommandAlreadyRecordedError';
  }
}
