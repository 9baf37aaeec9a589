import type { CommandFailure } from '../commands';
import type { EventShape, RecordedEvent } from '../eventstore';

/** A command a saga dispatches through the command bus: its type and its payload, as the bus takes them. */
export interface SagaCommandShape {
  type: string;
  payload: object;
}

export interface TimeoutShape {
  type: string;
  data: object;
}

/** A command to dispatch, and the command that undoes it should the saga compensate after it succeeded. */
export interface SagaStep<Command extends SagaCommandShape> {
  command: Command;
  compensation?: Command;
}

export interface ScheduledTimeout<Timeout extends TimeoutShape> {
  timeout: Timeout;
  /** Due this long after the input that schedules it (the saga's clock). */
  afterMs: number;
}

/**
 * What a handler decides: the new state, and what to do. `outcome: 'complete'`
 * ends the instance (its timeouts are cancelled; steps already decided are
 * still dispatched); `'compensate'` runs the compensations of the steps that
 * succeeded, newest first, then `compensated`.
 */
export interface SagaReaction<State, Command extends SagaCommandShape, Timeout extends TimeoutShape> {
  state: State;
  dispatch?: readonly SagaStep<Command>[];
  schedule?: readonly ScheduledTimeout<Timeout>[];
  cancel?: readonly Timeout['type'][];
  outcome?: 'complete' | 'compensate';
  /** Why it compensates: kept on the instance and shown with it. */
  reason?: string;
}

/** An event that starts an instance: the instance's id (its correlation key) and its first reaction. */
export interface StartingHandler<E extends EventShape, State, Command extends SagaCommandShape, Timeout extends TimeoutShape> {
  correlate: (event: RecordedEvent<E>) => string;
  start: (event: RecordedEvent<E>) => SagaReaction<State, Command, Timeout>;
}

/** An event for a running instance, found by its correlation key. */
export interface ContinuingHandler<E extends EventShape, State, Command extends SagaCommandShape, Timeout extends TimeoutShape> {
  correlate: (event: RecordedEvent<E>) => string;
  handle: (event: RecordedEvent<E>, state: State) => SagaReaction<State, Command, Timeout>;
}

/** What became of a dispatched command: its stream and version after it, or the refusal it met. */
export interface StepSucceeded<Command extends SagaCommandShape> {
  step: number;
  command: Command;
  streamId: string;
  version: number;
}

export interface StepRefused<Command extends SagaCommandShape> {
  step: number;
  command: Command;
  error: CommandFailure;
}

type Of<Union extends { type: string }, Type> = Extract<Union, { type: Type }>;

export type SagaEventHandlers<Event extends EventShape, State, Command extends SagaCommandShape, Timeout extends TimeoutShape> = {
  [Type in Event['type']]:
    | StartingHandler<Of<Event, Type>, State, Command, Timeout>
    | ContinuingHandler<Of<Event, Type>, State, Command, Timeout>;
};

export type SagaTimeoutHandlers<State, Command extends SagaCommandShape, Timeout extends TimeoutShape> = {
  [Type in Timeout['type']]: (timeout: Of<Timeout, Type>, state: State) => SagaReaction<State, Command, Timeout>;
};

export type SagaOutcomeHandlers<Outcome, State, Command extends SagaCommandShape, Timeout extends TimeoutShape> = {
  [Type in Command['type']]?: (outcome: Outcome & { command: Of<Command, Type> }, state: State) => SagaReaction<State, Command, Timeout>;
};

/** The final reaction of a compensated instance: the compensations that ran, newest first. */
export type CompensatedHandler<State, Command extends SagaCommandShape> = (
  state: State,
  done: { compensated: readonly Command[]; reason: string | undefined },
) => { state: State; dispatch?: readonly { command: Command }[] };

export interface SagaDefinition<Event extends EventShape, State, Command extends SagaCommandShape, Timeout extends TimeoutShape> {
  /** Lower-case letters, digits and underscores. */
  name: string;
  /** The shape of the state this code writes; bump it with `upgradeState` when the shape changes. */
  stateVersion: number;
  /** Brings a state stored by an older definition (`version` < stateVersion) to the current shape. */
  upgradeState?: (stored: unknown, version: number) => State;
  /** Feed partitions (by correlation key); default 4. Fixed once the saga has run. */
  partitions?: number;
  /** One handler per event type the saga reacts to, starting or continuing an instance. */
  on: SagaEventHandlers<Event, State, Command, Timeout>;
  /** One handler per timeout type. */
  timeouts: SagaTimeoutHandlers<State, Command, Timeout>;
  /** Reactions to a dispatched command that succeeded; none means the state stays as it is. */
  succeeded?: SagaOutcomeHandlers<StepSucceeded<Command>, State, Command, Timeout>;
  /** Reactions to a dispatched command that was refused; none means the saga compensates. */
  refused?: SagaOutcomeHandlers<StepRefused<Command>, State, Command, Timeout>;
  /** After the compensations: the last state and steps (recording the failure, say). */
  compensated?: CompensatedHandler<State, Command>;
}

/** A checked saga, its handlers erased to what the engine calls; `State` only types what specifications assert. */
export interface Saga<State = unknown> {
  readonly name: string;
  readonly stateVersion: number;
  readonly partitions: number;
  /** The event types it reacts to. */
  readonly eventTypes: readonly string[];
  readonly definition: SagaDefinition<EventShape, unknown, SagaCommandShape, TimeoutShape>;
  /** Never set: carries the state's type. */
  readonly stateType?: State;
}

export class SagaDefinitionError extends Error {
  readonly code = 'INVALID_SAGA';
  constructor(message: string) {
    super(message);
    this.name = 'SagaDefinitionError';
  }
}

const NAME = /^[a-z][a-z0-9_]{0,59}$/;

/**
 * Declares a saga over unions of the events it reacts to, its commands and its
 * timeouts: `defineSaga<Event, State, Command, Timeout>()({...})`. A handler
 * missing for an event or timeout type of the unions, or one for a type outside
 * them, does not compile; each handler sees only its own type. Handlers are
 * pure: they return what to do, and the saga processor does it.
 */
export function defineSaga<Event extends EventShape, State, Command extends SagaCommandShape, Timeout extends TimeoutShape>() {
  return (definition: SagaDefinition<Event, State, Command, Timeout>): Saga<State> => {
    if (!NAME.test(definition.name)) throw new SagaDefinitionError(`saga name ${JSON.stringify(definition.name)} must be lower-case letters, digits and underscores`);
    if (!Number.isInteger(definition.stateVersion) || definition.stateVersion < 1) {
      throw new SagaDefinitionError(`saga ${definition.name}: stateVersion must be an integer from 1`);
    }
    if (definition.stateVersion > 1 && !definition.upgradeState) {
      throw new SagaDefinitionError(`saga ${definition.name}: stateVersion ${definition.stateVersion} needs upgradeState for the states stored before it`);
    }
    const partitions = definition.partitions ?? 4;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) throw new SagaDefinitionError(`saga ${definition.name}: partitions must be 1 to 1024`);
    const eventTypes = Object.keys(definition.on);
    if (eventTypes.length === 0) throw new SagaDefinitionError(`saga ${definition.name} reacts to no event`);
    // The mapped handler types guarantee, per type, the event, timeout or outcome its handler expects.
    const erased = definition as unknown as SagaDefinition<EventShape, unknown, SagaCommandShape, TimeoutShape>;
    return { name: definition.name, stateVersion: definition.stateVersion, partitions, eventTypes, definition: erased };
  };
}
