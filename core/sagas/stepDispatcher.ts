import { randomUUID } from 'node:crypto';
import { CommandFailedBeforeError, describeFailure, isVerdict, type CommandBus, type CommandFailure } from '../commands';
import type { Db } from '../db';
import { log, runInContext } from '../observability';
import type { Saga } from './defineSaga';
import { applyInput } from './applyInput';
import { handleInputs, SagaConflictError } from './handleInput';
import { stepCommandId, type ClaimedStep, type SagaInput, type SagaInstance } from './sagaInstance';
import { CLAIM_NEXT_STEP_SQL, DEFER_STEP_SQL } from './stepQueries';

export interface StepRetryPolicy {
  /** Tries of a step's command that fail without a verdict before the instance is stuck. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_STEP_RETRY: StepRetryPolicy = { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 30_000 };

// Conflicts need another writer on the same instance at the same moment: a few in a row mean something is wrong.
const MAX_CONFLICTS = 10;

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

/** Where a dispatch starts: the instance as just saved, and the step claimed with it. */
export interface DispatchStart {
  instance: SagaInstance;
  claimed: ClaimedStep;
}

/** An instance to dispatch the steps of, from where its last save left it if known. */
export interface DispatchRequest {
  sagaId: string;
  start?: DispatchStart;
}

export type Dispatch = (saga: Saga, requests: readonly DispatchRequest[]) => Promise<void>;

export interface StepDispatcher {
  readonly claimMs: number;
  /** Dispatches the instance's pending steps one by one, in order, handing each outcome back to it; returns how many ran. */
  dispatch(saga: Saga, sagaId: string, start?: DispatchStart): Promise<number>;
}

interface ClaimRow {
  step: number;
  command_type: string;
  payload: object;
  attempts: number;
  causation_id: string;
  traceparent: string | null;
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
 * A success the saga has no reaction to (the step's status is all it changes)
 * need not be saved before the next step runs: its next pending step may be run
 * at once, under the claim the instance's lowest pending step still holds, and
 * both outcomes saved together. Anything else is saved first.
 */
function continueWithout(saga: Saga, draft: SagaInstance, input: SagaInput, now: Date): { instance: SagaInstance; claimed: ClaimedStep } | undefined {
  const decision = applyInput(saga, draft, input, now);
  if (decision.kind !== 'applied' || decision.newSteps.length > 0 || decision.instance.state !== draft.state || decision.instance.phase !== draft.phase) return undefined;
  const next = decision.instance.steps.find((step) => step.status === 'pending');
  if (!next) return undefined;
  // Unclaimed in the table: a try that fails without a verdict is claimed (and counted) before it is retried.
  const claimed = { step: next.step, command: next.command, causationId: next.causationId, traceparent: next.traceparent, correlationId: draft.correlationId, attempts: 0 };
  return { instance: decision.instance, claimed };
}

/**
 * Runs the steps sagas decided through the command bus, each under its own
 * deterministic command id: dispatching a step again (after a crash, or by two
 * dispatchers at once) replays the command's stored outcome or refusal instead
 * of running it twice. Each outcome goes back to the instance as an input, in
 * the same statement that claims its next step; the instance is kept from one
 * step to the next, so a step costs its command and one more round trip.
 */
export function createStepDispatcher(options: StepDispatcherOptions): StepDispatcher {
  const { db, bus, clock } = options;
  const retry = options.retry ?? DEFAULT_STEP_RETRY;
  const claimMs = options.claimMs ?? 30_000;

  async function claimNext(saga: Saga, sagaId: string): Promise<ClaimedStep | undefined> {
    const { rows } = await db.query<ClaimRow>(CLAIM_NEXT_STEP_SQL, [saga.name, sagaId, claimMs], { name: 'saga_claim_next_step' });
    const row = rows[0];
    return row && { step: row.step, command: { type: row.command_type, payload: row.payload }, causationId: row.causation_id, traceparent: row.traceparent ?? undefined, correlationId: row.correlation_id, attempts: row.attempts };
  }

  /** The step's outcome as an input; undefined if it failed without a verdict and waits for another try. */
  async function outcomeOf(saga: Saga, sagaId: string, claimed: ClaimedStep): Promise<SagaInput | undefined> {
    log.debug('saga step dispatched', { saga: saga.name, sagaId, step: claimed.step, commandType: claimed.command.type, attempts: claimed.attempts });
    // The step's status, not this id, keeps an outcome from being applied twice; the id only names it in the timeline.
    const id = `step:${String(claimed.step)}:${randomUUID()}`;
    try {
      const outcome = await bus.execute({
        type: claimed.command.type,
        payload: claimed.command.payload,
        commandId: stepCommandId(saga.name, sagaId, claimed.step),
        correlationId: claimed.correlationId,
        causationId: claimed.causationId,
        traceparent: claimed.traceparent,
        // Its first claimed try cannot have run before: no record to look up (and the append refuses a recorded id anyway).
        freshCommandId: claimed.attempts <= 1,
      });
      return { kind: 'step_succeeded', id, step: claimed.step, streamId: outcome.streamId, version: outcome.version, eventId: outcome.events.at(-1)?.eventId };
    } catch (error) {
      if (isVerdict(error)) return { kind: 'step_refused', id, step: claimed.step, error: refusalOf(error) };
      // A step run without a claim of its own (see dispatch) is claimed, and counted, before it is tried again.
      if (claimed.attempts === 0) return undefined;
      const stuck = claimed.attempts >= retry.maxAttempts;
      options.onStepError?.({ saga: saga.name, sagaId, step: claimed.step, attempts: claimed.attempts, error, stuck });
      if (stuck) return { kind: 'step_failed', id, step: claimed.step, error: describeFailure(error) };
      const delayMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (claimed.attempts - 1));
      await db.query(DEFER_STEP_SQL, [saga.name, sagaId, claimed.step, delayMs, JSON.stringify(describeFailure(error))]);
      return undefined;
    }
  }

  /** Hands the outcomes back (to the instance this process knows, else read again), claiming the next step with them. */
  async function record(saga: Saga, sagaId: string, inputs: readonly SagaInput[], known: SagaInstance | undefined): Promise<Partial<DispatchStart>> {
    let instance = known;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await handleInputs(db, saga, sagaId, inputs, clock(), { lock: false, claimMs, ...(instance ? { known: instance } : {}) });
        return result.kind === 'applied' ? { instance: result.instance, ...(result.claimed ? { claimed: result.claimed } : {}) } : {};
      } catch (error) {
        if (!(error instanceof SagaConflictError) || attempt >= MAX_CONFLICTS) throw error;
        instance = undefined;
      }
    }
  }

  return {
    claimMs,
    async dispatch(saga, sagaId, start) {
      let ran = 0;
      let instance = start?.instance;
      let claimed = start?.claimed ?? (await claimNext(saga, sagaId));
      // Outcomes not saved yet, and the instance as they leave it.
      let unsaved: SagaInput[] = [];
      let draft = instance;
      while (claimed) {
        const step = claimed;
        // Log lines of the step carry its ids: the saga's correlation, the step's causation and command id.
        const context = { correlationId: step.correlationId, causationId: step.causationId, commandId: stepCommandId(saga.name, sagaId, step.step), ...(step.traceparent ? { traceparent: step.traceparent } : {}) };
        const input = await runInContext(context, () => outcomeOf(saga, sagaId, step));
        if (input) {
          ran += 1;
          unsaved.push(input);
          const onward = draft && input.kind === 'step_succeeded' ? continueWithout(saga, draft, input, clock()) : undefined;
          if (onward) {
            draft = onward.instance;
            claimed = onward.claimed;
            continue;
          }
        }
        if (unsaved.length === 0) return ran;
        const next = await record(saga, sagaId, unsaved, instance);
        unsaved = [];
        instance = next.instance;
        draft = instance;
        claimed = next.claimed;
      }
      return ran;
    },
  };
}
