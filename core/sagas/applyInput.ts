import type { EventShape, RecordedEvent } from '../eventstore';
import { advanceCompensation } from './advanceCompensation';
import { applyReaction } from './applyReaction';
import type { ContinuingHandler, Saga, SagaCommandShape, SagaReaction, StartingHandler, TimeoutShape } from './defineSaga';
import type { SagaDecision, SagaInput, SagaInstance, SagaPhase, StepCause, StepRecord } from './sagaInstance';

type AnyReaction = SagaReaction<unknown, SagaCommandShape, TimeoutShape>;
type EventHandler =
  | StartingHandler<EventShape, unknown, SagaCommandShape, TimeoutShape>
  | ContinuingHandler<EventShape, unknown, SagaCommandShape, TimeoutShape>;

export const isStartingHandler = (handler: EventHandler): handler is StartingHandler<EventShape, unknown, SagaCommandShape, TimeoutShape> =>
  'start' in handler;

/** Whether the event starts an instance (rather than continues one). */
export function startsInstance(saga: Saga, event: RecordedEvent): boolean {
  const handler = (saga.definition.on as Record<string, EventHandler | undefined>)[event.type];
  return handler !== undefined && isStartingHandler(handler);
}

/** The instance id an event belongs to, by its handler's correlation. */
export function correlationKeyOf(saga: Saga, event: RecordedEvent): string | null {
  const handler = (saga.definition.on as Record<string, EventHandler | undefined>)[event.type];
  return handler ? handler.correlate(event) : null;
}

/** Steps an event decided: caused by it, continuing its trace. */
const eventCause = (event: RecordedEvent): StepCause => ({ causationId: event.eventId, traceparent: event.metadata.traceparent });

/** Steps a step's outcome decided: caused by the event its command stored (else the outcome), in the step's trace. */
const stepCause = (input: Extract<SagaInput, { step: number }>, record: StepRecord): StepCause => ({
  causationId: input.kind === 'step_succeeded' && input.eventId ? input.eventId : input.id,
  traceparent: record.traceparent,
});

function withReaction(instance: SagaInstance, reaction: AnyReaction, saga: Saga, cause: StepCause, now: Date): SagaDecision {
  const reacted = applyReaction(instance, reaction, { cause, now });
  const compensating = advanceCompensation(saga, reacted.instance, cause);
  return { kind: 'applied', instance: compensating.instance, newSteps: [...reacted.newSteps, ...compensating.newSteps], started: false };
}

function settleStep(instance: SagaInstance, step: number, status: StepRecord['status']): SagaInstance {
  return { ...instance, version: instance.version + 1, steps: instance.steps.map((record) => (record.step === step ? { ...record, status } : record)) };
}

function startInstance(saga: Saga, handler: StartingHandler<EventShape, unknown, SagaCommandShape, TimeoutShape>, event: RecordedEvent, now: Date): SagaDecision {
  const reaction = handler.start(event);
  const sagaId = handler.correlate(event);
  const blank: SagaInstance = {
    sagaId,
    phase: 'running',
    state: reaction.state,
    version: 0,
    nextStep: 1,
    correlationId: event.metadata.correlationId ?? sagaId,
    ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
    steps: [],
    timeouts: [],
  };
  const decision = withReaction(blank, reaction, saga, eventCause(event), now);
  return decision.kind === 'applied' ? { ...decision, started: true } : decision;
}

/**
 * The saga engine, pure: what one input does to an instance (or to no
 * instance yet). The processor, the dispatcher, the sweeper and the
 * specifications all go through it, so they cannot disagree.
 */
export function applyInput(saga: Saga, instance: SagaInstance | undefined, input: SagaInput, now: Date): SagaDecision {
  const { definition } = saga;
  switch (input.kind) {
    case 'event': {
      const handler = (definition.on as Record<string, EventHandler | undefined>)[input.event.type];
      if (!handler) return { kind: 'ignored', reason: 'no_instance' };
      if (isStartingHandler(handler)) return instance ? { kind: 'ignored', reason: 'duplicate_start' } : startInstance(saga, handler, input.event, now);
      if (!instance) return { kind: 'ignored', reason: 'no_instance' };
      if (instance.phase !== 'running') return { kind: 'ignored', reason: instance.phase === 'completed' ? 'finished' : 'not_running' };
      return withReaction(instance, handler.handle(input.event, instance.state), saga, eventCause(input.event), now);
    }
    case 'timeout': {
      if (!instance) return { kind: 'ignored', reason: 'no_instance' };
      if (instance.phase !== 'running') return { kind: 'ignored', reason: instance.phase === 'completed' ? 'finished' : 'not_running' };
      // Cancelled by a reaction the sweeper had not seen yet when it took the timeout.
      if (!instance.timeouts.some((timeout) => timeout.type === input.timeout.type)) return { kind: 'ignored', reason: 'cancelled' };
      const handler = (definition.timeouts as Record<string, ((timeout: TimeoutShape, state: unknown) => AnyReaction) | undefined>)[input.timeout.type];
      const fired = { ...instance, timeouts: instance.timeouts.filter((timeout) => timeout.type !== input.timeout.type) };
      if (!handler) return { kind: 'applied', instance: { ...fired, version: instance.version + 1 }, newSteps: [], started: false };
      return withReaction(fired, handler(input.timeout, instance.state), saga, { causationId: input.id, traceparent: instance.traceparent }, now);
    }
    case 'step_succeeded':
    case 'step_refused':
    case 'step_failed':
      return settle(saga, instance, input, now);
    case 'retry':
      return retry(instance, input.id);
  }
}

type StepInput = Extract<SagaInput, { kind: 'step_succeeded' | 'step_refused' | 'step_failed' }>;

const compensatingFor = (instance: SagaInstance) =>
  instance.phase === 'compensating' && instance.failure ? { compensatingFor: instance.failure.reason } : {};

const unstuck = (phase: SagaPhase): Exclude<SagaPhase, 'stuck'> => (phase === 'stuck' ? 'running' : phase);

/** A dispatched step's outcome: recorded, then handed to the saga's handler while it runs, or to the compensation. */
function settle(saga: Saga, instance: SagaInstance | undefined, input: StepInput, now: Date): SagaDecision {
  const record = instance?.steps.find((step) => step.step === input.step);
  if (!instance || !record) return { kind: 'ignored', reason: 'no_instance' };
  if (record.status !== 'pending') return { kind: 'ignored', reason: 'step_settled' };
  if (input.kind === 'step_failed') {
    // Its command kept failing without a verdict: whether it took effect is unknown, so nothing is decided for it.
    const settled = settleStep(instance, input.step, 'failed');
    const failure = { reason: 'STEP_FAILED', step: input.step, error: input.error, phase: unstuck(instance.phase), ...compensatingFor(instance) };
    return { kind: 'applied', instance: { ...settled, phase: 'stuck', failure }, newSteps: [], started: false };
  }
  const settled = settleStep(instance, input.step, input.kind === 'step_succeeded' ? 'succeeded' : 'refused');
  if (input.kind === 'step_refused' && (record.kind === 'compensation' || instance.phase === 'completed')) {
    const reason = record.kind === 'compensation' ? 'COMPENSATION_REFUSED' : 'STEP_REFUSED';
    const failure = { reason, step: input.step, error: input.error, phase: unstuck(instance.phase), ...compensatingFor(instance) };
    return { kind: 'applied', instance: { ...settled, phase: 'stuck', failure }, newSteps: [], started: false };
  }
  if (settled.phase === 'compensating') {
    const moved = advanceCompensation(saga, settled, stepCause(input, record));
    return { kind: 'applied', instance: moved.instance, newSteps: moved.newSteps, started: false };
  }
  if (settled.phase !== 'running') return { kind: 'applied', instance: settled, newSteps: [], started: false };
  const { definition } = saga;
  if (input.kind === 'step_succeeded') {
    const handlers = (definition.succeeded ?? {}) as Record<string, ((outcome: object, state: unknown) => AnyReaction) | undefined>;
    const handler = handlers[record.command.type];
    if (!handler) return { kind: 'applied', instance: settled, newSteps: [], started: false };
    return withReaction(settled, handler({ step: input.step, command: record.command, streamId: input.streamId, version: input.version }, settled.state), saga, stepCause(input, record), now);
  }
  const handlers = (definition.refused ?? {}) as Record<string, ((outcome: object, state: unknown) => AnyReaction) | undefined>;
  const handler = handlers[record.command.type];
  const reaction = handler
    ? handler({ step: input.step, command: record.command, error: input.error }, settled.state)
    : { state: settled.state, outcome: 'compensate' as const, reason: input.error.rule ?? input.error.code };
  return withReaction(settled, reaction, saga, stepCause(input, record), now);
}

/**
 * A stuck instance, retried by hand. A step that failed without a verdict is
 * dispatched again under its own command id (if it did take effect, that is a
 * replay); a refused one gets a new step, since its id now answers with the
 * refusal. The instance goes back to the phase the step belongs to.
 */
function retry(instance: SagaInstance | undefined, causationId: string): SagaDecision {
  if (instance?.phase !== 'stuck' || instance.failure?.step === undefined) return { kind: 'ignored', reason: 'not_running' };
  const stuckStep = instance.failure.step;
  const record = instance.steps.find((step) => step.step === stuckStep);
  if (!record) return { kind: 'ignored', reason: 'not_running' };
  const phase = instance.failure.phase ?? (record.kind === 'compensation' ? 'compensating' : 'running');
  const base: SagaInstance = { ...instance, phase, version: instance.version + 1 };
  // A compensation keeps the reason it compensates for; anything else is back on track.
  if (phase === 'compensating') base.failure = { reason: instance.failure.compensatingFor ?? 'COMPENSATING' };
  else delete base.failure;
  if (record.status === 'failed') {
    return { kind: 'applied', instance: { ...base, steps: base.steps.map((step) => (step.step === stuckStep ? { ...step, status: 'pending' } : step)) }, newSteps: [], started: false };
  }
  const again: StepRecord = { ...record, step: instance.nextStep, status: 'pending', causationId };
  const steps = base.steps.map((step) => (step.step === stuckStep ? { ...step, status: 'retried' as const } : step));
  return { kind: 'applied', instance: { ...base, steps: [...steps, again], nextStep: instance.nextStep + 1 }, newSteps: [again], started: false };
}
