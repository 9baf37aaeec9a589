import type { CommandFailure } from '../commands';
import type { RecordedEvent } from '../eventstore';
import type { SagaCommandShape, TimeoutShape } from './defineSaga';

/**
 * `running` takes events, timeouts and step outcomes; `compensating` runs the
 * compensations; `completed` takes nothing more (its last steps may still be
 * dispatched); `stuck` waits for someone to retry it (a compensation that
 * cannot succeed, a step whose command kept failing).
 */
export type SagaPhase = 'running' | 'compensating' | 'completed' | 'stuck';

export type StepStatus = 'pending' | 'succeeded' | 'refused' | 'failed' | 'retried';

export interface StepRecord {
  step: number;
  kind: 'forward' | 'compensation';
  command: SagaCommandShape;
  compensation?: SagaCommandShape;
  /** A compensation step: the forward step it undoes. */
  compensates?: number;
  status: StepStatus;
  /** The input that decided the step: an event's id where an event did. */
  causationId: string;
  /** The trace the step's command continues: the deciding event's, or the step before it's. */
  traceparent?: string;
}

/** What decided a step: its causation, and the trace its command continues. */
export interface StepCause {
  causationId: string;
  traceparent?: string | undefined;
}

export interface TimeoutRecord {
  type: string;
  data: object;
  dueAt: Date;
}

export interface SagaFailure {
  reason: string;
  step?: number;
  error?: CommandFailure;
  /** The phase a stuck instance was in: a retry returns it there. */
  phase?: Exclude<SagaPhase, 'stuck'>;
  /** A stuck compensation: the reason the saga was compensating for. */
  compensatingFor?: string;
}

/** An instance as the engine sees it: loaded whole (it is small), changed by one input at a time. */
export interface SagaInstance<State = unknown> {
  sagaId: string;
  phase: SagaPhase;
  state: State;
  /** Bumped by every change; the row's optimistic-concurrency version. */
  version: number;
  nextStep: number;
  correlationId: string;
  /** The trace of the event that started it: timeouts' steps continue it. */
  traceparent?: string;
  steps: StepRecord[];
  timeouts: TimeoutRecord[];
  failure?: SagaFailure;
}

/** What an instance can be given. Each has an id, so the same input twice is applied once. */
export type SagaInput =
  | { kind: 'event'; id: string; event: RecordedEvent }
  | { kind: 'timeout'; id: string; timeout: TimeoutShape; dueAt: Date }
  | { kind: 'step_succeeded'; id: string; step: number; streamId: string; version: number; eventId?: string | undefined }
  | { kind: 'step_refused'; id: string; step: number; error: CommandFailure }
  | { kind: 'step_failed'; id: string; step: number; error: CommandFailure }
  | { kind: 'retry'; id: string };

/** A pending step this process has claimed, to dispatch its command. */
export interface ClaimedStep {
  step: number;
  command: SagaCommandShape;
  causationId: string;
  correlationId: string;
  traceparent?: string | undefined;
  /** Tries so far, this one included. */
  attempts: number;
}

/** Why an input changed nothing: no instance for it, or one that no longer takes it. */
export type IgnoredReason = 'no_instance' | 'duplicate_start' | 'finished' | 'not_running' | 'cancelled' | 'step_settled';

/** What one input did to an instance: its new form and what to write, or why it was ignored. */
export type SagaDecision<State = unknown> =
  | { kind: 'applied'; instance: SagaInstance<State>; newSteps: StepRecord[]; started: boolean }
  | { kind: 'ignored'; reason: IgnoredReason };

/** The command id of a step: the same for every dispatch of it, so a repeat is a replay. */
export const stepCommandId = (saga: string, sagaId: string, step: number): string => `saga:${saga}:${sagaId}:${String(step)}`;
