import type { CommandFailure } from '../commands';
import type { Saga } from './defineSaga';
import type { SagaFailure, SagaInput, SagaInstance, SagaPhase, StepRecord, TimeoutRecord } from './sagaInstance';

// How an instance's row reads back into the engine's form, and what an input leaves on it.

export interface InstanceRow {
  phase: SagaPhase;
  state: unknown;
  state_version: number;
  version: number;
  next_step: number;
  correlation_id: string;
  traceparent: string | null;
  failure: SagaFailure | null;
  seen: boolean;
  steps: (Omit<StepRecord, 'command' | 'compensation' | 'compensates' | 'traceparent'> & {
    type: string;
    payload: object;
    compensation: StepRecord['compensation'] | null;
    compensates: number | null;
    traceparent: string | null;
  })[];
  timeouts: (Omit<TimeoutRecord, 'dueAt'> & { dueAt: string })[];
}

/** A stored state written by newer code than this: it cannot be read back into an older shape. */
export class SagaStateTooNewError extends Error {
  readonly code = 'SAGA_STATE_TOO_NEW';
  constructor(saga: string, sagaId: string, stored: number, current: number) {
    super(`saga ${saga} instance ${sagaId} has state version ${String(stored)}; this code knows up to ${String(current)}`);
    this.name = 'SagaStateTooNewError';
  }
}

export function instanceOf(saga: Saga, sagaId: string, row: InstanceRow): SagaInstance {
  if (row.state_version > saga.stateVersion) throw new SagaStateTooNewError(saga.name, sagaId, row.state_version, saga.stateVersion);
  const upgrade = saga.definition.upgradeState;
  const state = row.state_version < saga.stateVersion && upgrade ? upgrade(row.state, row.state_version) : (row.state );
  const steps = row.steps.map(({ type, payload, compensation, compensates, traceparent, ...step }): StepRecord => ({
    ...step,
    command: { type, payload },
    ...(compensation ? { compensation } : {}),
    ...(compensates === null ? {} : { compensates }),
    ...(traceparent === null ? {} : { traceparent }),
  }));
  const timeouts = row.timeouts.map((timeout) => ({ ...timeout, dueAt: new Date(timeout.dueAt) }));
  const instance: SagaInstance = {
    sagaId,
    phase: row.phase,
    state,
    version: row.version,
    nextStep: row.next_step,
    correlationId: row.correlation_id,
    ...(row.traceparent === null ? {} : { traceparent: row.traceparent }),
    steps,
    timeouts,
  };
  return row.failure ? { ...instance, failure: row.failure } : instance;
}

/** How the settled step's row records the outcome. */
export function settledFields(input: SagaInput): { outcome?: object; error?: CommandFailure } {
  if (input.kind === 'step_succeeded') return { outcome: { streamId: input.streamId, version: input.version } };
  if (input.kind === 'step_refused' || input.kind === 'step_failed') return { error: input.error };
  return {};
}

export const summaryOf = (input: SagaInput): object => {
  switch (input.kind) {
    case 'event':
      return { eventId: input.event.eventId, type: input.event.type, streamId: input.event.streamId };
    case 'timeout':
      return { type: input.timeout.type, dueAt: input.dueAt };
    case 'step_succeeded':
      return { step: input.step, streamId: input.streamId, version: input.version };
    case 'step_refused':
    case 'step_failed':
      return { step: input.step, error: input.error };
    case 'retry':
      return {};
  }
};
