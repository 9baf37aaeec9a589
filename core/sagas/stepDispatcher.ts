import { randomUUID } from 'node:crypto';
import { describeFailure, isVerdict, CommandFailedBeforeError, type CommandBus, type CommandFailure } from '../commands';
import type { Db } from '../db';
import type { Saga } from './defineSaga';
import { handleInput } from './handleInput';
import { stepCommandId, type SagaInput } from './sagaInstance';
import { CLAIM_NEXT_STEP_SQL, DEFER_STEP_SQL } from './stepQueries';

export interface StepRetryPolicy {
  /** Tries of a step's command that fail without a verdict before the instance is stuck. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_STEP_RETRY: StepRetryPolicy = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface StepDispatcherOptions {
  db: Db;
  bus: CommandBus;
  clock: () => Date;
  retry?: StepRetryPolicy;
  /** How long a claim on a step lasts: a dispatcher that dies lets go of it after this. */
  claimMs?: number;
  /** Told of each try that failed without a verdict (a database outage), and whether the instance is now stuck. */
  onStepError?: (report: { saga: string; sagaId: string; step: number; attempts: number; error: unknown; stuck: boolean }) => void;
}

export interface StepDispatcher {
  /** Dispatches the instance's pending steps one by one, in order, handing each outcome back to it; returns how many ran. */
  dispatch(saga: Saga, sagaId: string): Promise<number>;
}

interface ClaimedStep {
  step: number;
  command_type: string;
  payload: object;
  attempts: number;
  causation_id: string;
  correlation_id: string;
}

/** The refusal as the command recorded it: the same whether this try refused it or an earlier one did. */
function refusalOf(error: unknown): CommandFailure {
  if (error instanceof CommandFailedBeforeError) {
    const recorded = error.recordedError as Partial<CommandFailure> | null;
    if (recorded && typeof recorded.code === 'string') return { message: '', ...recorded } as CommandFailure;
  }
  return describeFailure(error);
}

/**
 * Runs the steps sagas decided through the command bus, each under its own
 * deterministic command id: dispatching a step again (after a crash, or by two
 * dispatchers at once) replays the command's stored outcome or refusal instead
 * of running it twice. Each outcome goes back to the instance as an input.
 */
export function createStepDispatcher(options: StepDispatcherOptions): StepDispatcher {
  const { db, bus, clock } = options;
  const retry = options.retry ?? DEFAULT_STEP_RETRY;
  const claimMs = options.claimMs ?? 30_000;

  async function outcomeOf(saga: Saga, sagaId: string, claimed: ClaimedStep): Promise<SagaInput | undefined> {
    // The step's status, not this id, keeps an outcome from being applied twice; the id only names it in the timeline.
    const id = `step:${String(claimed.step)}:${randomUUID()}`;
    try {
      const outcome = await bus.execute({
        type: claimed.command_type,
        payload: claimed.payload,
        commandId: stepCommandId(saga.name, sagaId, claimed.step),
        correlationId: claimed.correlation_id,
        causationId: claimed.causation_id,
      });
      return { kind: 'step_succeeded', id, step: claimed.step, streamId: outcome.streamId, version: outcome.version };
    } catch (error) {
      if (isVerdict(error)) return { kind: 'step_refused', id, step: claimed.step, error: refusalOf(error) };
      const stuck = claimed.attempts >= retry.maxAttempts;
      options.onStepError?.({ saga: saga.name, sagaId, step: claimed.step, attempts: claimed.attempts, error, stuck });
      if (stuck) return { kind: 'step_failed', id, step: claimed.step, error: describeFailure(error) };
      const delayMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (claimed.attempts - 1));
      await db.query(DEFER_STEP_SQL, [saga.name, sagaId, claimed.step, delayMs, JSON.stringify(describeFailure(error))]);
      return undefined;
    }
  }

  return {
    async dispatch(saga, sagaId) {
      let ran = 0;
      for (;;) {
        const { rows } = await db.query<ClaimedStep>(CLAIM_NEXT_STEP_SQL, [saga.name, sagaId, claimMs]);
        const claimed = rows[0];
        if (!claimed) return ran;
        const input = await outcomeOf(saga, sagaId, claimed);
        if (!input) return ran;
        await db.transaction((tx) => handleInput(tx, saga, sagaId, input, clock()));
        ran += 1;
      }
    },
  };
}
