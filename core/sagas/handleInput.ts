import type { Queryable } from '../db';
import { applyInput } from './applyInput';
import type { Saga } from './defineSaga';
import { instanceOf, settledFields, summaryOf, type InstanceRow } from './instanceRecord';
import type { ClaimedStep, IgnoredReason, SagaInput, SagaInstance, StepRecord } from './sagaInstance';
import { COUNT_UNMATCHED_SQL, LOAD_INSTANCE_SQL, READ_INSTANCE_SQL, SAVE_INSTANCE_SQL } from './sagaQueries';

/** The instance changed between its load and its save (two writers at once): give the inputs again. */
export class SagaConflictError extends Error {
  readonly code = 'SAGA_CONFLICT';
  constructor(saga: string, sagaId: string) {
    super(`saga ${saga} instance ${sagaId} changed while an input was handled`);
    this.name = 'SagaConflictError';
  }
}

export type InputResult =
  | { kind: 'applied'; instance: SagaInstance; newSteps: StepRecord[]; started: boolean; claimed?: ClaimedStep }
  | { kind: 'ignored'; reason: IgnoredReason | 'duplicate_input' };

export interface HandleInputOptions {
  /** Load it locked, in the caller's transaction (the default); unlocked, the save's version check guards it. */
  lock?: boolean;
  /** The instance as this process last saved it: no read, and a conflict if anyone changed it since. */
  known?: SagaInstance;
  /** An event that starts an instance: no read, and a conflict if the instance exists after all. */
  assumeNew?: boolean;
  /** Claims the instance's next pending step in the same statement as the save, for this long. */
  claimMs?: number;
}

/** Counted when no live instance took the input; duplicates and late outcomes are not news. */
const COUNTED: ReadonlySet<string> = new Set<IgnoredReason>(['no_instance', 'duplicate_start', 'finished', 'not_running']);

async function load(tx: Queryable, saga: Saga, sagaId: string, firstInput: SagaInput, options: HandleInputOptions): Promise<SagaInstance | 'seen' | undefined> {
  if (options.known) return options.known;
  if (options.assumeNew) return undefined;
  const locked = options.lock ?? true;
  const { rows } = await tx.query<InstanceRow>(locked ? LOAD_INSTANCE_SQL : READ_INSTANCE_SQL, [saga.name, sagaId, firstInput.id], {
    name: locked ? 'saga_load_instance' : 'saga_read_instance',
  });
  const row = rows[0];
  if (row?.seen) return 'seen';
  return row ? instanceOf(saga, sagaId, row) : undefined;
}

/**
 * Gives inputs to one instance, in order: loads it, lets the engine decide on
 * each, saves what they decided, in two round trips (one with a known or new
 * instance). Locked, inside the caller's transaction; otherwise the save
 * refuses with SagaConflictError if the instance changed meanwhile, and the
 * caller gives the inputs again. An input the instance has already seen
 * changes nothing.
 */
export async function handleInputs(tx: Queryable, saga: Saga, sagaId: string, inputs: readonly SagaInput[], now: Date, options: HandleInputOptions = {}): Promise<InputResult> {
  const [first] = inputs;
  if (!first) return { kind: 'ignored', reason: 'duplicate_input' };
  const before = await load(tx, saga, sagaId, first, options);
  if (before === 'seen') return { kind: 'ignored', reason: 'duplicate_input' };
  let current = before;
  const applied: SagaInput[] = [];
  const newSteps: StepRecord[] = [];
  let started = false;
  let ignored: IgnoredReason | undefined;
  for (const input of inputs) {
    const decision = applyInput(saga, current, input, now);
    if (decision.kind === 'ignored') {
      ignored ??= decision.reason;
      // A retry of an instance that is not stuck is an operator's mistake, not an unmatched input.
      if (COUNTED.has(decision.reason) && input.kind !== 'retry') {
        await tx.query(COUNT_UNMATCHED_SQL, [saga.name, decision.reason, { sagaId, kind: input.kind, ...summaryOf(input) }], { name: 'saga_count_unmatched' });
      }
      continue;
    }
    current = decision.instance;
    newSteps.push(...decision.newSteps);
    started ||= decision.started;
    applied.push(input);
  }
  if (!current || applied.length === 0) return { kind: 'ignored', reason: ignored ?? 'step_settled' };
  const instance = current;
  const fieldsByStep = new Map(applied.flatMap((input) => ('step' in input ? [[input.step, settledFields(input)] as const] : [])));
  const previous = new Map((before?.steps ?? []).map((step) => [step.step, step.status]));
  const settled = instance.steps
    .filter((step) => previous.has(step.step) && previous.get(step.step) !== step.status)
    .map((step) => ({ step: step.step, status: step.status, ...(step.status === 'pending' ? {} : fieldsByStep.get(step.step)) }));
  // An instance's steps run in order: the one to claim is its lowest pending step.
  const next = options.claimMs === undefined ? undefined : instance.steps.find((step) => step.status === 'pending');
  const { rows } = await tx.query<{ saved: number; claimed_attempts: number | null }>(
    SAVE_INSTANCE_SQL,
    [
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
      JSON.stringify(applied.map((input) => ({ id: input.id, kind: input.kind, summary: summaryOf(input) }))),
      next?.step ?? null,
      options.claimMs ?? 0,
      instance.traceparent ?? null,
    ],
    { name: 'saga_save_instance' },
  );
  if (rows[0]?.saved !== 1) throw new SagaConflictError(saga.name, sagaId);
  const result = { kind: 'applied' as const, instance, newSteps, started };
  const attempts = next && (newSteps.includes(next) ? 1 : rows[0].claimed_attempts);
  if (!next || !attempts) return result;
  return { ...result, claimed: { step: next.step, command: next.command, causationId: next.causationId, traceparent: next.traceparent, correlationId: instance.correlationId, attempts } };
}

/** One input: see handleInputs. */
export function handleInput(tx: Queryable, saga: Saga, sagaId: string, input: SagaInput, now: Date, options: HandleInputOptions = {}): Promise<InputResult> {
  return handleInputs(tx, saga, sagaId, [input], now, options);
}
