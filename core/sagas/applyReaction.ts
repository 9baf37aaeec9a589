import type { SagaCommandShape, SagaReaction, TimeoutShape } from './defineSaga';
import type { SagaInstance, StepRecord } from './sagaInstance';

type AnyReaction = SagaReaction<unknown, SagaCommandShape, TimeoutShape>;

/** A reaction's steps, numbered on from the instance's next step, caused by `causationId`. */
export function numberSteps(
  instance: SagaInstance,
  dispatch: AnyReaction['dispatch'],
  causationId: string,
): { steps: StepRecord[]; nextStep: number } {
  let nextStep = instance.nextStep;
  const steps = (dispatch ?? []).map((planned): StepRecord => {
    const step: StepRecord = { step: nextStep, kind: 'forward', command: planned.command, status: 'pending', causationId };
    nextStep += 1;
    return planned.compensation ? { ...step, compensation: planned.compensation } : step;
  });
  return { steps, nextStep };
}

/**
 * A running instance after a handler's reaction: its new state, its new steps,
 * its timeouts scheduled (replacing one of the same type) and cancelled, and
 * its phase if the reaction ends it or turns it to compensation. Completing or
 * compensating cancels every timeout: nothing is left to fire late.
 */
export function applyReaction(
  instance: SagaInstance,
  reaction: AnyReaction,
  context: { causationId: string; now: Date },
): { instance: SagaInstance; newSteps: StepRecord[] } {
  const { steps: newSteps, nextStep } = numberSteps(instance, reaction.dispatch, context.causationId);
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
