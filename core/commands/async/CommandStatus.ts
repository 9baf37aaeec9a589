import type { CommandResult } from '../CommandDefinition';

/** Where a command stands: stored and waiting for a worker, done, or refused for good. */
export type CommandState = 'pending' | 'succeeded' | 'failed';

/** Why a command failed (or, while pending, why its last run did not finish), as stored in `commands.error`. */
export interface CommandFailure {
  /** A stable code: `DOMAIN_RULE_VIOLATED`, `VALIDATION_FAILED`, `MAX_ATTEMPTS_EXCEEDED`... */
  code: string;
  message: string;
  /** The business rule a `DomainError` named. */
  rule?: string;
  details?: Record<string, unknown>;
}

/** What `send` answers at once: enough for a 202 with a status URL. */
export interface SendResult {
  commandId: string;
  status: CommandState;
}

/** A stored command as a status endpoint shows it (JSON-safe: timestamps are ISO strings). */
export interface CommandStatus {
  commandId: string;
  commandType: string;
  status: CommandState;
  /** What the command did, once it succeeded: the same stream, version and events `execute` answers. */
  outcome?: CommandResult;
  /** Why it failed; on a pending command, why its last run did not finish. */
  error?: CommandFailure;
  /** Runs that failed without a verdict, plus the sweep's re-dispatches. */
  attempts: number;
  createdAt: string;
  updatedAt: string;
}
