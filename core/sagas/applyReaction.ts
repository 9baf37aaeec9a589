import type { SagaCommandShape, SagaReaction, TimeoutShape } from './defineSaga';
import type { SagaInstance, StepCause, StepRecord } from './sagaInstance';

type AnyReaction = SagaReaction<unknown, SagaCommandShape, TimeoutShape>;

/** A reaction's steps, numbered on from the instance's next step, with what caused them. */
export function numberSteps(
  instance: SagaInstance,
  dispatch: AnyReaction['dispatch'],
  cause: StepCause,
): { steps: StepRecord[]; nextStep: number } {
  let nextStep = instance.nextStep;
  const steps = (dispatch ?? []).map((planned): StepRecord => {
    const step: StepRecord = { step: nextStep, kind: 'forward', command: planned.command, status: 'pending', ...causedBy(cause) };
    nextStep += 1;
    return planned.compensation ? { ...step, compensation: planned.compensation } : step;
  });
  return { steps, nextStep };
}

/** A step's causation and trace fields. */
export const causedBy = (cause: StepCause): Pick<StepRecord, 'causationId' | 'traceparent'> =>
  cause.traceparent ? { causationId: cause.causationId, traceparent: cause.traceparent } : { causationId: cause.causationId };

/**
 * A running instance after a handler's reaction: its new state, its new steps,
 * its timeouts scheduled (replacing one of the same type) and cancelled, and
 * its phase if the reaction ends it or turns it to compensation. Completing or
 * compensating cancels every timeout: nothing is left to fire late.
 */
export function applyReaction(
  instance: SagaInstance,
  reaction: AnyReaction,
  context: { cause: StepCause; now: Date },
): { instance: SagaInstance; newSteps: StepRecord[] } {
  const { steps: newSteps, nextStep } = numberSteps(instance, reaction.dispatch, context.cause);
  const cancelled = new Set<string>(reaction.cancel ?? []);
  const scheduled = (reaction.schedule ?? []).map(({ timeout, afterMs }) => ({
    type: timeout.type,
    data: timeout.data,
    dueAt: new Date(context.now.getTime() + afterMs),
  }));
  const replaced = new Set(scheduled.map((timeout) => timeout.type));
  const ends = reaction.outcome !== undefined;
  const timeouts = ends ? [] : [...instance.timeouts.filter((timeout) => !cancelled.has(timeout.type) && !replaced.has(timeout.type)), ...scheduled];
  const phase = reaction.outcome === 'complete' ? 'completed' : reaction.outcome === 'compensate' ? 'compensating' : instance.phase;
  const next: SagaInstance = {
    ...instance,
    state: reaction.state,
    phase,
    nextStep,
    steps: [...instance.steps, ...newSteps],
    timeouts,
    version: instance.version + 1,
  };
  if (reaction.outcome === 'compensate') next.failure = { reason: reaction.reason ?? 'COMPENSATING' };
  return { instance: next, newSteps };
}
