import type { CommandFailure } from '../commands';
import type { Queryable } from '../db';
import { applyInput } from './applyInput';
import type { Saga } from './defineSaga';
import type { IgnoredReason, SagaFailure, SagaInput, SagaInstance, SagaPhase, StepRecord, TimeoutRecord } from './sagaInstance';
import { COUNT_UNMATCHED_SQL, LOAD_INSTANCE_SQL, SAVE_INSTANCE_SQL } from './sagaQueries';

interface InstanceRow {
  phase: SagaPhase;
  state: unknown;
  state_version: number;
  version: number;
  next_step: number;
  correlation_id: string;
  failure: SagaFailure | null;
  seen: boolean;
  steps: (Omit<StepRecord, 'command' | 'compensation' | 'compensates'> & { type: string; payload: object; compensation: StepRecord['compensation'] | null; compensates: number | null })[];
  timeouts: (Omit<TimeoutRecord, 'dueAt'> & { dueAt: string })[];
}

/** The instance changed between its load and its save (two starts at once): retry the input. */
export class SagaConflictError extends Error {
  readonly code = 'SAGA_CONFLICT';
  constructor(saga: string, sagaId: string) {
    super(`saga ${saga} instance ${sagaId} changed while an input was handled`);
    this.name = 'SagaConflictError';
  }
}

/** A stored state written by newer code than this: it cannot be read back into an older shape. */
export class SagaStateTooNewError extends Error {
  readonly code = 'SAGA_STATE_TOO_NEW';
  constructor(saga: string, sagaId: string, stored: number, current: number) {
    super(`saga ${saga} instance ${sagaId} has state version ${String(stored)}; this code knows up to ${String(current)}`);
    this.name = 'SagaStateTooNewError';
  }
}

function instanceOf(saga: Saga, sagaId: string, row: InstanceRow): SagaInstance {
  if (row.state_version > saga.stateVersion) throw new SagaStateTooNewError(saga.name, sagaId, row.state_version, saga.stateVersion);
  const upgrade = saga.definition.upgradeState;
  const state = row.state_version < saga.stateVersion && upgrade ? upgrade(row.state, row.state_version) : (row.state );
  const steps = row.steps.map(({ type, payload, compensation, compensates, ...step }): StepRecord => ({
    ...step,
    command: { type, payload },
    ...(compensation ? { compensation } : {}),
    ...(compensates === null ? {} : { compensates }),
  }));
  const timeouts = row.timeouts.map((timeout) => ({ ...timeout, dueAt: new Date(timeout.dueAt) }));
  const instance: SagaInstance = {
    sagaId,
    phase: row.phase,
    state,
    version: row.version,
    nextStep: row.next_step,
    correlationId: row.correlation_id,
    steps,
    timeouts,
  };
  return row.failure ? { ...instance, failure: row.failure } : instance;
}

/** How the settled step's row records the outcome. */
function settledFields(input: SagaInput): { outcome?: object; error?: CommandFailure } {
  if (input.kind === 'step_succeeded') return { outcome: { streamId: input.streamId, version: input.version } };
  if (input.kind === 'step_refused' || input.kind === 'step_failed') return { error: input.error };
  return {};
}

const summaryOf = (input: SagaInput): object => {
  switch (input.kind) {
    case 'event':
      return { eventId: input.event.eventId, type: input.event.type, streamId: input.event.streamId };
    case 'timeout':
      return { type: input.timeout.type };
    case 'step_succeeded':
      return { step: input.step, streamId: input.streamId, version: input.version };
    case 'step_refused':
    case 'step_failed':
      return { step: input.step, error: input.error };
    case 'retry':
      return {};
  }
};

export type InputResult =
  | { kind: 'applied'; instance: SagaInstance; newSteps: StepRecord[]; started: boolean }
  | { kind: 'ignored'; reason: IgnoredReason | 'duplicate_input' };

/** Counted when no live instance took the input; duplicates and late outcomes are not news. */
const COUNTED: ReadonlySet<string> = new Set<IgnoredReason>(['no_instance', 'duplicate_start', 'finished', 'not_running']);

/**
 * Gives one input to one instance inside the caller's transaction: loads it
 * locked, lets the engine decide, saves what it decided (two round trips). An
 * input the instance has already seen changes nothing.
 */
export async function handleInput(tx: Queryable, saga: Saga, sagaId: string, input: SagaInput, now: Date): Promise<InputResult> {
  const { rows } = await tx.query<InstanceRow>(LOAD_INSTANCE_SQL, [saga.name, sagaId, input.id]);
  const row = rows[0];
  if (row?.seen) return { kind: 'ignored', reason: 'duplicate_input' };
  const before = row ? instanceOf(saga, sagaId, row) : undefined;
  const decision = applyInput(saga, before, input, now);
  if (decision.kind === 'ignored') {
    if (COUNTED.has(decision.reason)) await tx.query(COUNT_UNMATCHED_SQL, [saga.name, decision.reason, { sagaId, kind: input.kind, ...summaryOf(input) }]);
    return decision;
  }
  const { instance, newSteps } = decision;
  const previous = new Map((before?.steps ?? []).map((step) => [step.step, step.status]));
  const fields = settledFields(input);
  const settled = instance.steps
    .filter((step) => previous.has(step.step) && previous.get(step.step) !== step.status)
    .map((step) => ({ step: step.step, status: step.status, ...(step.status === 'pending' ? {} : fields) }));
  const { rows: saved } = await tx.query<{ saved: number }>(SAVE_INSTANCE_SQL, [
    saga.name,
    sagaId,
    before?.version ?? 0,
    instance.phase,
    JSON.stringify(instance.state),
    saga.stateVersion,
    instance.version,
    instance.nextStep,
    instance.correlationId,
    instance.failure ? JSON.stringify(instance.failure) : null,
    JSON.stringify(newSteps.map(({ command, ...step }) => ({ ...step, type: command.type, payload: command.payload }))),
    JSON.stringify(settled),
    JSON.stringify(instance.timeouts),
    input.id,
    input.kind,
    JSON.stringify(summaryOf(input)),
  ]);
  if (saved[0]?.saved !== 1) throw new SagaConflictError(saga.name, sagaId);
  return decision;
}
