import type { AggregateRepository, CommandShape } from '../aggregates';
import type { EventMetadata, EventShape, IdempotencyRecord, IntegrationMessage } from '../eventstore';
import type { Schema } from '../schema';
import type { CommandContext } from './commandContext';
import type { CommandOutcome } from './CommandOutcome';

/** What a command's `run` gets besides its payload. */
export interface CommandExecution {
  context: CommandContext;
  /** The event metadata to write: correlation, causation and command ids. */
  metadata: EventMetadata;
  /** Pass to the append, so the outcome is stored with the events. */
  idempotency: IdempotencyRecord;
}

export type CommandResult = Omit<CommandOutcome, 'commandId' | 'commandType' | 'replayed'>;

/** A command the bus can run: its type, the schema its payload must satisfy, and how to run it. */
export interface CommandDefinition<Payload = unknown> {
  type: string;
  schema: Schema<Payload>;
  run(payload: Payload, execution: CommandExecution): Promise<CommandResult>;
}

/** How a payload addresses one aggregate's command: which instance, and which command. */
export interface AggregateCommandSpec<Payload, Command, Event extends EventShape = EventShape> {
  type: string;
  schema: Schema<Payload>;
  aggregateId: (payload: Payload) => string;
  toCommand: (payload: Payload) => Command;
  /**
   * Integration messages for other services (not stored events), from the
   * payload and the events the command decided: written to the outbox in the
   * same statement as the events, published in order per ordering key.
   */
  messages?: (payload: Payload, events: readonly Event[]) => readonly IntegrationMessage[];
}

/**
 * Commands carried out by one aggregate's repository. The aggregate's command
 * union is fixed first, so each `toCommand` is checked against it.
 */
export function commandsFor<State, Event extends EventShape, Command extends CommandShape>(
  repository: AggregateRepository<State, Event, Command>,
) {
  return {
    define<Payload>(spec: AggregateCommandSpec<Payload, Command, Event>): CommandDefinition<Payload> {
      return {
        type: spec.type,
        schema: spec.schema,
        async run(payload, { metadata, idempotency }) {
          const { messages } = spec;
          const outcome = await repository.handle(spec.aggregateId(payload), spec.toCommand(payload), {
            metadata,
            idempotency,
            ...(messages ? { messages: (events: readonly Event[]) => messages(payload, events) } : {}),
          });
          return {
            streamId: outcome.streamId,
            version: outcome.version,
            events: outcome.events.map((event) => ({
              eventId: event.eventId,
              type: event.type,
              version: event.version,
              globalPosition: event.globalPosition.toString(),
            })),
          };
        },
      };
    },
  };
}
