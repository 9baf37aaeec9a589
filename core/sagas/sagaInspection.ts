import type { Queryable } from '../db';
import type { SagaFailure, SagaPhase } from './sagaInstance';
import { READ_INSTANCE_SQL, SAGA_COUNTS_SQL } from './sagaQueriesForPeople';

export interface SagaStepView {
  step: number;
  kind: 'forward' | 'compensation';
  commandType: string;
  payload: object;
  compensates: number | null;
  status: string;
  attempts: number;
  outcome: object | null;
  error: object | null;
  createdAt: string;
  settledAt: string | null;
}

/** An instance as people look at it: its state and phase, every step with its times, its timeouts and its inputs in order. */
export interface SagaInstanceView {
  saga: string;
  sagaId: string;
  phase: SagaPhase;
  state: unknown;
  stateVersion: number;
  version: number;
  correlationId: string;
  failure: SagaFailure | null;
  startedAt: Date;
  updatedAt: Date;
  endedAt: Date | null;
  steps: SagaStepView[];
  timeouts: { type: string; dueAt: string; scheduledAt: string }[];
  inputs: { inputId: string; kind: string; summary: object; at: string }[];
}

interface InstanceViewRow {
  saga: string;
  saga_id: string;
  phase: SagaPhase;
  state: unknown;
  state_version: number;
  version: number;
  correlation_id: string;
  failure: SagaFailure | null;
  started_at: Date;
  updated_at: Date;
  ended_at: Date | null;
  steps: SagaStepView[];
  timeouts: SagaInstanceView['timeouts'];
  inputs: SagaInstanceView['inputs'];
}

export async function readSagaInstance(db: Queryable, saga: string, sagaId: string): Promise<SagaInstanceView | null> {
  const { rows } = await db.query<InstanceViewRow>(READ_INSTANCE_SQL, [saga, sagaId]);
  const row = rows[0];
  if (!row) return null;
  return {
    saga: row.saga,
    sagaId: row.saga_id,
    phase: row.phase,
    state: row.state,
    stateVersion: row.state_version,
    version: row.version,
    correlationId: row.correlation_id,
    failure: row.failure,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    endedAt: row.ended_at,
    steps: row.steps,
    timeouts: row.timeouts,
    inputs: row.inputs,
  };
}

export interface SagaCounts {
  saga: string;
  running: number;
  compensating: number;
  completed: number;
  stuck: number;
  /** Timeouts of any instance due longer ago than the grace: the sweeper is behind or not running. */
  overdueTimeouts: number;
  /** Inputs no live instance took (unknown or finished instances, second starts). */
  unmatched: number;
}

export async function sagaCounts(db: Queryable, sagas: readonly string[], options: { now: Date; overdueGraceMs: number }): Promise<SagaCounts[]> {
  const overdueBefore = new Date(options.now.getTime() - options.overdueGraceMs);
  const { rows } = await db.query<{
    saga: string;
    running: number;
    compensating: number;
    completed: number;
    stuck: number;
    overdue_timeouts: number;
    unmatched: string;
  }>(SAGA_COUNTS_SQL, [sagas, overdueBefore]);
  return rows.map((row) => ({
    saga: row.saga,
    running: row.running,
    compensating: row.compensating,
    completed: row.completed,
    stuck: row.stuck,
    overdueTimeouts: row.overdue_timeouts,
    unmatched: Number(row.unmatched),
  }));
}
