import type { EventMetadata } from '../eventstore';
import { newTimeOrderedId } from '../ids/timeOrderedId';
import { formatTraceparent, freshTraceparent, parseTraceparent } from '../observability';

/** The ids a command carries onto everything it writes. */
export interface CommandContext {
  /** Also the idempotency key. */
  commandId: string;
  /** Shared by everything one request set off; taken from the caller or created. */
  correlationId: string;
  /** What caused this command: the caller's id for it, or the command itself. */
  causationId: string;
  /** W3C trace context: the caller's if valid, else a fresh trace (an invalid one is never kept). */
  traceparent: string;
  /** Whether `traceparent` came from the caller (the command continues its trace) or was made here. */
  traceFromCaller: boolean;
}

export interface ContextInput {
  commandId?: string | undefined;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  traceparent?: string | undefined;
}

export function buildCommandContext(input: ContextInput): CommandContext {
  const commandId = input.commandId ?? newTimeOrderedId();
  const incoming = parseTraceparent(input.traceparent);
  return {
    commandId,
    correlationId: input.correlationId ?? newTimeOrderedId(),
    causationId: input.causationId ?? commandId,
    traceparent: incoming ? formatTraceparent(incoming) : freshTraceparent(),
    traceFromCaller: incoming !== null,
  };
}

/** The event metadata a command writes. */
export function metadataOf(context: CommandContext): EventMetadata {
  return {
    correlationId: context.correlationId,
    causationId: context.causationId,
    commandId: context.commandId,
    traceparent: context.traceparent,
  };
}
