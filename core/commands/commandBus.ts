import type { Queryable } from '../db';
import type { CommandDefinition } from './CommandDefinition';
import type { CommandOutcome } from './CommandOutcome';
import { metadataOf } from './commandContext';
import { idempotencyStep } from './idempotencyStep';
import { composeSteps, type CommandEnvelope, type CommandStep } from './pipeline';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retryPolicy';
import { retryStep } from './retryStep';
import { validateCommand, type CommandRequest } from './validateCommand';

export interface CommandBusOptions {
  db: Queryable;
  commands: readonly CommandDefinition[];
  retry?: RetryPolicy;
  /** Extra steps (logging, tracing, metrics), run inside retry and idempotency, around each try. */
  steps?: readonly CommandStep[];
  onRetry?: (error: unknown, attempt: number) => void;
}

export interface CommandBus {
  /** Validates, then runs the command (or replays its stored outcome) and returns what it did. */
  execute(request: CommandRequest): Promise<CommandOutcome>;
  /** Only the validation: the parsed command with its ids and payload hash, or the validation error. */
  validate(request: CommandRequest): CommandEnvelope;
  readonly commandTypes: readonly string[];
}

async function runDefinition({ definition, payload, context, payloadHash, record }: CommandEnvelope): Promise<CommandOutcome> {
  const result = await definition.run(payload, {
    context,
    metadata: metadataOf(context),
    idempotency: {
      commandId: context.commandId,
      commandType: definition.type,
      payloadHash,
      correlationId: context.correlationId,
      existing: record,
    },
  });
  return { ...result, commandId: context.commandId, commandType: definition.type, replayed: false };
}

export function createCommandBus(options: CommandBusOptions): CommandBus {
  const registry = new Map(options.commands.map((definition) => [definition.type, definition]));
  if (registry.size !== options.commands.length) throw new Error('Two command definitions share a type');
  const pipeline = composeSteps(
    [retryStep(options.retry ?? DEFAULT_RETRY_POLICY, options.onRetry), idempotencyStep(options.db), ...(options.steps ?? [])],
    runDefinition,
  );
  return {
    execute: async (request) => pipeline(validateCommand(registry, request)),
    validate: (request) => validateCommand(registry, request),
    commandTypes: [...registry.keys()],
  };
}
