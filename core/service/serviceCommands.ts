import { createRepository, type Aggregate, type AggregateRepository, type CommandShape, type RepositoryOptions } from '../aggregates';
import { commandsFor, type AggregateCommandSpec, type CommandDefinition } from '../commands';
import type { AggregateFold } from '../browser';
import type { Db } from '../db';
import type { EventShape, EventStore } from '../eventstore';

/**
 * Who may send a command: `public` commands are routed over HTTP; `internal`
 * ones only by the service's own code and its sagas. An internal command sent
 * over HTTP is answered 404, exactly like an unknown type.
 */
export type CommandVisibility = 'public' | 'internal';

/** A command of an aggregate as the service declares it: how to read its payload, and who may send it. */
export interface ServiceCommandSpec<Payload, Command, Event extends EventShape> extends AggregateCommandSpec<Payload, Command, Event> {
  visibility: CommandVisibility;
}

/** A command ready for the bus, with its visibility. */
export interface BuiltCommand {
  definition: CommandDefinition;
  visibility: CommandVisibility;
}

/** One aggregate's commands, built into bus definitions once the service has a database. */
export interface CommandGroup {
  readonly streamType: string;
  /** The aggregate itself, for the event browser's state at a version. */
  readonly aggregate: AggregateFold;
  readonly types: readonly { type: string; visibility: CommandVisibility }[];
  build(db: Db, store: EventStore, options?: RepositoryOptions): BuiltCommand[];
}

/** One declared command, its payload type kept inside `define`. */
export interface DeclaredCommand<State, Event extends EventShape, Command extends CommandShape> {
  type: string;
  visibility: CommandVisibility;
  define(repository: AggregateRepository<State, Event, Command>): CommandDefinition;
}

/**
 * Declares an aggregate's commands for a service: `aggregateCommands(account,
 * (command) => [command({ type: 'Deposit', visibility: 'public', ... })])`.
 * Each `command(...)` is checked against the aggregate's command and event
 * unions, whatever its payload type.
 */
export function aggregateCommands<State, Event extends EventShape, Command extends CommandShape>(
  aggregate: Aggregate<State, Event, Command>,
  declare: (
    command: <Payload>(spec: ServiceCommandSpec<Payload, Command, Event>) => DeclaredCommand<State, Event, Command>,
  ) => readonly DeclaredCommand<State, Event, Command>[],
): CommandGroup {
  const commands = declare((spec) => ({
    type: spec.type,
    visibility: spec.visibility,
    define: (repository) => commandsFor(repository).define(spec),
  }));
  return {
    streamType: aggregate.streamType,
    // Its events are the aggregate's own (the stream type says so): the fold takes them as such.
    aggregate: { streamType: aggregate.streamType, initialState: aggregate.initialState, apply: (state, events) => aggregate.apply(state as State, events as readonly Event[]) },
    types: commands.map(({ type, visibility }) => ({ type, visibility })),
    build(db, store, options) {
      const repository = createRepository(db, store, aggregate, options ?? {});
      return commands.map((command) => ({ definition: command.define(repository), visibility: command.visibility }));
    },
  };
}
