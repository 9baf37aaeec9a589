import type { Saga } from './defineSaga';
import { causedBy, numberSteps } from './applyReaction';
import type { SagaInstance, StepCause, StepRecord } from './sagaInstance';

/**
 * Moves a compensating instance one step on. While any step is still in flight
 * it waits: a step dispatched before the saga turned to compensation may yet
 * succeed, and then it must be undone too. Otherwise the newest succeeded step
 * not yet undone gets its compensation; when none is left, the instance
 * completes with the saga's `compensated` reaction.
 */
export function advanceCompensation(
  saga: Saga,
  instance: SagaInstance,
  cause: StepCause,
): { instance: SagaInstance; newSteps: StepRecord[] } {
  if (instance.phase !== 'compensating' || instance.steps.some((step) => step.status === 'pending')) return { instance, newSteps: [] };
  const undone = new Set(instance.steps.flatMap((step) => (step.kind === 'compensation' && step.status === 'succeeded' ? [step.compensates] : [])));
  const toUndo = instance.steps
    .filter((step) => step.kind === 'forward' && step.status === 'succeeded' && step.compensation && !undone.has(step.step))
    .sort((a, b) => b.step - a.step)[0];
  if (toUndo?.compensation) {
    const step: StepRecord = {
      step: instance.nextStep,
      kind: 'compensation',
      command: toUndo.compensation,
      compensates: toUndo.step,
      status: 'pending',
      ...causedBy(cause),
    };
    return { instance: { ...instance, steps: [...instance.steps, step], nextStep: instance.nextStep + 1, version: instance.version + 1 }, newSteps: [step] };
  }
  const compensated = instance.steps.filter((step) => step.kind === 'compensation' && step.status === 'succeeded').map((step) => step.command);
  const last = saga.definition.compensated?.(instance.state, { compensated, reason: instance.failure?.reason }) ?? { state: instance.state };
  const { steps, nextStep } = numberSteps(instance, last.dispatch, cause);
  return {
    instance: { ...instance, state: last.state, phase: 'completed', steps: [...instance.steps, ...steps], nextStep, timeouts: [], version: instance.version + 1 },
    newSteps: steps,
  };
}
