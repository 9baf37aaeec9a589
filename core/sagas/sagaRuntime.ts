import { randomUUID } from 'node:crypto';
import type { CommandBus } from '../commands';
import type { Db } from '../db';
import type { EventUpcaster, RecordedEvent } from '../eventstore';
import { DEFAULT_LEASE_TTL_MS, eachOnItsOwn, runFeedProcessor, whyHandledTypeRenamed, type FeedProcessor, type ProcessorRun } from '../processing';
import { SagaDefinitionError, type Saga } from './defineSaga';
import { handleInput } from './handleInput';
import { sagaProcessor, type IgnoredInput } from './sagaProcessor';
import { sweepSagas, type SweepReport } from './sagaSweeper';
import { createStepDispatcher, type Dispatch, type DispatchRequest, type StepDispatcherOptions, type StepRetryPolicy } from './stepDispatcher';
import { watchTimeouts } from './watchTimeouts';

export interface SagaRuntimeOptions {
  db: Db;
  bus: CommandBus;
  sagas: readonly Saga[];
  upcaster: EventUpcaster;
  /** The sagas' clock: when timeouts are due. Tests pass one they control. */
  clock?: () => Date;
  stepRetry?: StepRetryPolicy;
  /** How long a dispatcher's claim on a step lasts (default 30 s): a dead dispatcher's step waits this long. */
  stepClaimMs?: number;
  /** A step never tried this long after it was decided is dispatched by the sweeper (default 10 s). */
  abandonedStepMs?: number;
  /** Instances whose steps run at once (default 8): more only fight over the same aggregates and connections. */
  dispatchConcurrency?: number;
  onIgnored?: (ignored: IgnoredInput) => void;
  onStepError?: StepDispatcherOptions['onStepError'];
  /** Told of a dispatch that failed after its batch committed (the sweeper picks its steps up). */
  onDispatchError?: (error: unknown) => void;
  /** After steps ran commands (nudges for the publisher and projector). */
  afterSteps?: () => Promise<void>;
}

export interface SagaRuntime {
  readonly sagas: readonly Saga[];
  readonly processors: readonly FeedProcessor<RecordedEvent, DispatchRequest[]>[];
  /**
   * Runs every saga's processor until caught up or the deadline, one after the
   * other; dispatches what each batch decided. One that fails (refused for its
   * partition count) leaves the others running; the run then throws an
   * AggregateError naming each that failed.
   */
  run(options: { holder: string; deadline: number; leaseTtlMs?: number }): Promise<ProcessorRun[]>;
  /** Fires due timeouts and dispatches abandoned steps. */
  sweep(): Promise<SweepReport>;
  /** Sweeps until the deadline, firing timeouts as they come due, if no other sweeper is watching (see watchTimeouts). */
  watch(options: { holder: string; deadline: number; pollMs?: number }): Promise<SweepReport & { watched: boolean }>;
  /** A stuck instance, sent on again by hand: false if it is not stuck. */
  retryStuck(saga: string, sagaId: string): Promise<boolean>;
}

export class UnknownSagaError extends Error {
  readonly code = 'UNKNOWN_SAGA';
  constructor(readonly saga: string) {
    super(`No saga named ${saga}`);
    this.name = 'UnknownSagaError';
  }
}

/** A service's sagas, ready to run: their processors, the step dispatcher and the sweeper, sharing one clock. */
export function createSagaRuntime(options: SagaRuntimeOptions): SagaRuntime {
  const { db, sagas } = options;
  for (const saga of sagas) {
    const renamed = whyHandledTypeRenamed(options.upcaster, `saga ${saga.name}`, saga.eventTypes);
    if (renamed) throw new SagaDefinitionError(renamed);
  }
  const clock = options.clock ?? (() => new Date());
  const dispatcher = createStepDispatcher({
    db,
    bus: options.bus,
    clock,
    ...(options.stepRetry ? { retry: options.stepRetry } : {}),
    ...(options.stepClaimMs === undefined ? {} : { claimMs: options.stepClaimMs }),
    ...(options.onStepError ? { onStepError: options.onStepError } : {}),
  });
  const concurrency = options.dispatchConcurrency ?? 8;
  const dispatch: Dispatch = async (saga, requests) => {
    try {
      let next = 0;
      let ran = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, requests.length) }, async () => {
          for (let request = requests[next++]; request; request = requests[next++]) ran += await dispatcher.dispatch(saga, request.sagaId, request.start);
        }),
      );
      if (ran > 0) await options.afterSteps?.();
    } catch (error) {
      // The steps are stored: the sweeper dispatches what this did not.
      options.onDispatchError?.(error);
    }
  };
  const processors = sagas.map((saga) =>
    sagaProcessor(saga, { upcaster: options.upcaster, clock, dispatch, claimMs: dispatcher.claimMs, ...(options.onIgnored ? { onIgnored: options.onIgnored } : {}) }),
  );
  const sweepOptions = {
    db,
    sagas,
    clock,
    dispatch,
    ...(options.onIgnored ? { onIgnored: options.onIgnored } : {}),
    ...(options.abandonedStepMs === undefined ? {} : { abandonedAfterMs: options.abandonedStepMs }),
  };
  return {
    sagas,
    processors,
    run: ({ holder, deadline, leaseTtlMs }) =>
      eachOnItsOwn(
        processors,
        (processor) => processor.name,
        (processor) => runFeedProcessor(processor, { db, holder, deadline, leaseTtlMs: leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, concurrency: processor.partitions }),
      ),
    sweep: () => sweepSagas(sweepOptions),
    watch: (watchOptions) => watchTimeouts(() => sweepSagas(sweepOptions), { db, ...watchOptions }),
    async retryStuck(sagaName, sagaId) {
      const saga = sagas.find((candidate) => candidate.name === sagaName);
      if (!saga) throw new UnknownSagaError(sagaName);
      const result = await db.transaction((tx) => handleInput(tx, saga, sagaId, { kind: 'retry', id: `retry:${randomUUID()}` }, clock()));
      if (result.kind !== 'applied') return false;
      await dispatch(saga, [{ sagaId }]);
      return true;
    },
  };
}
