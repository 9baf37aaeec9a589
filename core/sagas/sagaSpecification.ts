import assert from 'node:assert/strict';
import type { CommandFailure } from '../commands';
import type { EventShape, RecordedEvent } from '../eventstore';
import { applyInput, correlationKeyOf } from './applyInput';
import type { Saga } from './defineSaga';
import type { SagaInput, SagaInstance, SagaPhase, StepRecord } from './sagaInstance';

/** What a specification can give a saga: an event from the feed, a step's outcome, the clock moving, a timeout firing. */
export type SpecInput =
  | { kind: 'event'; event: EventShape; streamId: string; metadata?: RecordedEvent['metadata'] }
  | { kind: 'succeeded'; commandType: string }
  | { kind: 'refused'; commandType: string; error: Partial<CommandFailure> }
  | { kind: 'advance'; ms: number }
  | { kind: 'timeout'; type: string };

export const feedEvent = (streamId: string, event: EventShape, metadata: RecordedEvent['metadata'] = {}): SpecInput => ({ kind: 'event', event, streamId, metadata });
/** The oldest pending step dispatching this command type succeeded. */
export const stepSucceeded = (commandType: string): SpecInput => ({ kind: 'succeeded', commandType });
/** The oldest pending step dispatching this command type was refused by `rule`. */
export const stepRefused = (commandType: string, rule: string): SpecInput => ({ kind: 'refused', commandType, error: { code: 'DOMAIN_RULE_VIOLATED', rule } });
export const clockAdvances = (ms: number): SpecInput => ({ kind: 'advance', ms });
/** The clock moves to the timeout's due time, and the sweeper fires it (a no-op if the instance no longer has it). */
export const timeoutFires = (type: string): SpecInput => ({ kind: 'timeout', type });

/** What one input did: the commands it dispatched (compensations included), the timeouts it scheduled and dropped. */
export interface SagaEffects<State> {
  dispatched: { type: string; payload: object }[];
  scheduled: { type: string; dueInMs: number }[];
  dropped: string[];
  state: State | undefined;
  phase: SagaPhase | undefined;
  ignored: string | undefined;
}

export interface SagaThen<State> {
  readonly effects: SagaEffects<State>;
  thenDispatches(expected: readonly { type: string; payload: object }[]): SagaThen<State>;
  thenSchedules(expected: readonly { type: string; dueInMs: number }[]): SagaThen<State>;
  thenDrops(expected: readonly string[]): SagaThen<State>;
  thenState(expected: State): SagaThen<State>;
  thenPhase(expected: SagaPhase): SagaThen<State>;
  thenIgnores(reason: string): SagaThen<State>;
}

/** One instance's life in memory: the same engine as the database's, fed by hand. */
class Simulation<State> {
  private instance: SagaInstance | undefined;
  private now: Date;
  private inputs = 0;
  constructor(
    private readonly saga: Saga<State>,
    start: Date,
  ) {
    this.now = start;
  }

  private pendingStep(commandType: string): StepRecord {
    const step = this.instance?.steps.find((candidate) => candidate.status === 'pending' && candidate.command.type === commandType);
    if (!step) assert.fail(`no pending step dispatches ${commandType}; pending: ${JSON.stringify(this.instance?.steps.filter((s) => s.status === 'pending').map((s) => s.command.type) ?? [])}`);
    return step;
  }

  private toInput(input: SpecInput): SagaInput | undefined {
    this.inputs += 1;
    const id = `input-${String(this.inputs)}`;
    switch (input.kind) {
      case 'event': {
        const event: RecordedEvent = {
          ...input.event,
          eventId: id,
          streamId: input.streamId,
          streamType: input.streamId.split('-')[0] ?? input.streamId,
          version: 1,
          globalPosition: BigInt(this.inputs),
          txId: BigInt(this.inputs),
          schemaVersion: 1,
          metadata: input.metadata ?? {},
          recordedAt: this.now,
        };
        if (correlationKeyOf(this.saga, event) === null) assert.fail(`the saga does not react to ${input.event.type}`);
        return { kind: 'event', id, event };
      }
      case 'succeeded':
        return { kind: 'step_succeeded', id, step: this.pendingStep(input.commandType).step, streamId: 'spec', version: 1 };
      case 'refused':
        return { kind: 'step_refused', id, step: this.pendingStep(input.commandType).step, error: { code: 'DOMAIN_RULE_VIOLATED', message: 'refused', ...input.error } };
      case 'advance':
        this.now = new Date(this.now.getTime() + input.ms);
        return undefined;
      case 'timeout': {
        const due = this.instance?.timeouts.find((timeout) => timeout.type === input.type);
        if (due && due.dueAt > this.now) this.now = due.dueAt;
        return { kind: 'timeout', id, timeout: { type: input.type, data: due?.data ?? {} }, dueAt: due?.dueAt ?? this.now };
      }
    }
  }

  apply(input: SpecInput): SagaEffects<State> {
    const before = this.instance;
    const sagaInput = this.toInput(input);
    const base = { dispatched: [], scheduled: [], dropped: [], state: before?.state as State | undefined, phase: before?.phase };
    if (!sagaInput) return { ...base, ignored: undefined };
    const decision = applyInput(this.saga, before, sagaInput, this.now);
    if (decision.kind === 'ignored') return { ...base, ignored: decision.reason };
    const after = decision.instance;
    this.instance = after;
    const had = new Map((before?.timeouts ?? []).map((timeout) => [timeout.type, timeout.dueAt.getTime()]));
    const kept = new Set(after.timeouts.map((timeout) => timeout.type));
    return {
      dispatched: decision.newSteps.map((step) => step.command),
      scheduled: after.timeouts.filter((timeout) => had.get(timeout.type) !== timeout.dueAt.getTime()).map((timeout) => ({ type: timeout.type, dueInMs: timeout.dueAt.getTime() - this.now.getTime() })),
      dropped: [...had.keys()].filter((type) => !kept.has(type) && !(sagaInput.kind === 'timeout' && sagaInput.timeout.type === type)),
      state: after.state as State,
      phase: after.phase,
      ignored: undefined,
    };
  }
}

function then<State>(effects: SagaEffects<State>): SagaThen<State> {
  const self: SagaThen<State> = {
    effects,
    thenDispatches: (expected) => (assert.deepStrictEqual(effects.dispatched, [...expected]), self),
    thenSchedules: (expected) => (assert.deepStrictEqual(effects.scheduled, [...expected]), self),
    thenDrops: (expected) => (assert.deepStrictEqual(effects.dropped, [...expected]), self),
    thenState: (expected) => (assert.deepStrictEqual(effects.state, expected), self),
    thenPhase: (expected) => (assert.equal(effects.phase, expected), self),
    thenIgnores: (reason) => (assert.equal(effects.ignored, reason, `expected the input to be ignored (${reason})`), self),
  };
  return self;
}

/**
 * Given/when/then for sagas, without a database: given these inputs (feed
 * events, steps' outcomes, the clock moving, timeouts firing), when this one,
 * then these commands, timeouts, state and phase. It runs the same engine the
 * saga processor runs. Failures throw assertion errors with a diff.
 */
export function sagaSpecification<State>(saga: Saga<State>, options: { start?: Date } = {}) {
  return {
    given(history: readonly SpecInput[]) {
      return {
        when(input: SpecInput): SagaThen<State> {
          const simulation = new Simulation(saga, options.start ?? new Date('2026-01-01T00:00:00Z'));
          for (const past of history) simulation.apply(past);
          return then(simulation.apply(input));
        },
      };
    },
  };
}
