import { randomUUID } from 'node:crypto';
import type { EventMetadata } from '../eventstore';

/** The ids a command carries onto everything it writes. */
export interface CommandContext {
  /** Also the idempotency key. */
  commandId: string;
  /** Shared by everything one request set off; taken from the caller or created. */
  correlationId: string;
  /** What caused this command: the caller's id for it, or the command itself. */
  causationId: string;
  /** W3C trace context, when the caller sent one. */
  traceparent?: string;
}

export interface ContextInput {
  commandId?: string | undefined;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  traceparent?: string | undefined;
}

export function buildCommandContext(input: ContextInput): CommandContext {
  const commandId = input.commandId ?? randomUUID();
  return {
    commandId,
    correlationId: input.correlationId ?? randomUUID(),
    causationId: input.causationId ?? commandId,
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
  };
}

/** The event metadata a command writes. */
export function metadataOf(context: CommandContext): EventMetadata {
  return {
    correlationId: context.correlationId,
    causationId: context.causationId,
    commandId: context.commandId,
    ...(context.traceparent ? { traceparent: context.traceparent } : {}),
  };
}
