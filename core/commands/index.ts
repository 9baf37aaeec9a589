export { createCommandBus, type CommandBus, type CommandBusOptions } from './commandBus';
export { commandsFor, type AggregateCommandSpec, type CommandDefinition, type CommandExecution, type CommandResult } from './CommandDefinition';
export type { CommandOutcome, OutcomeEvent } from './CommandOutcome';
export { buildCommandContext, metadataOf, type CommandContext } from './commandContext';
export { validateCommand, type CommandRequest } from './validateCommand';
export { idempotencyStep } from './idempotencyStep';
export { retryStep } from './retryStep';
export { composeSteps, type CommandEnvelope, type CommandStep, type RunCommand } from './pipeline';
export { DEFAULT_RETRY_POLICY, isTransientFailure, retryDelayMs, withRetry, type RetryPolicy } from './retryPolicy';
export { findCommand, type CommandRecord } from './commandRecords';
export { deleteFinishedCommands } from './commandRetention';
export { payloadHash } from './payloadHash';
export {
  CommandFailedBeforeError,
  CommandInterruptedError,
  CommandTimeoutError,
  CommandValidationError,
  IdempotencyConflictError,
  UnknownCommandTypeError,
  type FieldIssue,
} from './errors';
export * from './async';
