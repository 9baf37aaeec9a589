import type { EventShape, JsonValue } from '../eventstore';

/** Commands share the events' shape: a discriminant and a payload. */
export type CommandShape = EventShape;

/** Exactly one handler per event type, each seeing only its own event. */
export type Evolvers<State, Event extends EventShape> = {
  [Type in Event['type']]: (state: State, event: Extract<Event, { type: Type }>) => State;
};

/** Exactly one handler per command type; each may only return events of the aggregate's union. */
export type Deciders<State, Event extends EventShape, Command extends CommandShape> = {
  [Type in Command['type']]: (command: Extract<Command, { type: Type }>, state: State) => Event | readonly Event[];
};

export interface SnapshotPolicy<State> {
  /** Write a snapshot once this many events have been appended since the last one. */
  every: number;
  /** Bump when the state's shape (or how events build it) changes: older snapshots are then ignored and replaced. */
  schemaVersion: number;
  /** For states that are not plain JSON (Maps, Dates...); identity by default. */
  toJson?: (state: State) => JsonValue;
  /** Receives the stored JSON as `unknown`: parse it (zod works well) rather than trust it. */
  fromJson?: (json: unknown) => State;
}

export interface AggregateDefinition<State, Event extends EventShape, Command extends CommandShape> {
  streamType: string;
  initialState: () => State;
  evolve: Evolvers<State, Event>;
  decide: Deciders<State, Event, Command>;
  /** Maps an aggregate id to its stream id; default `<streamType>-<id>`. */
  streamId?: (id: string) => string;
  snapshots?: SnapshotPolicy<State>;
}

export interface Aggregate<State, Event extends EventShape, Command extends CommandShape>
  extends AggregateDefinition<State, Event, Command> {
  streamId: (id: string) => string;
  /** Folds events over a state with the aggregate's evolvers. */
  apply: (state: State, events: readonly Event[]) => State;
  /** Runs the command's decider; throws `DomainError` when a rule refuses it. */
  execute: (command: Command, state: State) => Event[];
}

/**
 * Declares an aggregate from its state and the discriminated unions of its
 * events and commands. A missing handler, a handler for a type outside the
 * union, or a decider returning an event outside the union does not compile.
 */
export function defineAggregate<State, Event extends EventShape, Command extends CommandShape>(
  definition: AggregateDefinition<State, Event, Command>,
): Aggregate<State, Event, Command> {
  // The mapped handler types guarantee, per type, the event or command its handler expects.
  const evolveOne = (state: State, event: Event): State => {
    const evolver = definition.evolve[event.type as Event['type']] as ((state: State, event: Event) => State) | undefined;
    // Only reachable through data the compiler never saw, e.g. a stream holding another version's event types.
    if (!evolver) throw new Error(`Aggregate ${definition.streamType} has no evolver for event type ${event.type}`);
    return evolver(state, event);
  };
  const decideOne = (command: Command, state: State): Event | readonly Event[] =>
    (definition.decide[command.type as Command['type']] as (command: Command, state: State) => Event | readonly Event[])(
      command,
      state,
    );
  return {
    ...definition,
    streamId: definition.streamId ?? ((id) => `${definition.streamType}-${id}`),
    apply: (state, events) => events.reduce(evolveOne, state),
    execute: (command, state) => {
      const decided = decideOne(command, state);
      return Array.isArray(decided) ? [...(decided as readonly Event[])] : [decided as Event];
    },
  };
}
