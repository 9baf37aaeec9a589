import type { Queryable } from '../db';
import { handleEvent } from '../observability';
import type { EventUpcaster, RecordedEvent } from '../eventstore';
import { BatchItemError, DEFAULT_FAILURE_POLICY, eventFeedSource, type FeedProcessor } from '../processing';
import { correlationKeyOf, startsInstance } from './applyInput';
import type { Saga } from './defineSaga';
import { handleInput, SagaConflictError, type InputResult } from './handleInput';
import type { SagaInput } from './sagaInstance';
import type { Dispatch, DispatchRequest } from './stepDispatcher';
import type { IgnoredReason } from './sagaInstance';

export interface IgnoredInput {
  saga: string;
  sagaId: string;
  reason: IgnoredReason;
  input: { kind: string; id: string; type?: string };
}

export interface SagaProcessorOptions {
  upcaster: EventUpcaster;
  clock: () => Date;
  /** Runs the steps the batch decided, after it committed; a failure there is left to the sweeper. */
  dispatch: Dispatch;
  /** How long the batch's claim on each instance's first step lasts (the dispatcher's claim time). */
  claimMs: number;
  /** Told of each event no live instance took (counted in saga_unmatched too). */
  onIgnored?: (ignored: IgnoredInput) => void;
  batchSize?: number;
}

/** The feed processor's name for a saga: its checkpoints' and leases' key. */
export const sagaProcessorName = (saga: Saga): string => `saga:${saga.name}`;

/**
 * A saga as a feed processor: the events it reacts to, partitioned by
 * correlation key so one instance is only ever handled by one partition, each
 * given to its instance in the batch's transaction, with the checkpoint. The
 * steps decided are dispatched after the commit.
 */
export function sagaProcessor(saga: Saga, options: SagaProcessorOptions): FeedProcessor<RecordedEvent, DispatchRequest[]> {
  /** A starting event is saved as a new instance without reading first; if one exists after all, it is read and given the event. */
  const give = async (tx: Queryable, sagaId: string, input: SagaInput, starts: boolean): Promise<InputResult> => {
    const now = options.clock();
    if (starts) {
      try {
        return await handleInput(tx, saga, sagaId, input, now, { assumeNew: true, claimMs: options.claimMs });
      } catch (error) {
        if (!(error instanceof SagaConflictError)) throw error;
      }
    }
    return handleInput(tx, saga, sagaId, input, now, { claimMs: options.claimMs });
  };
  return {
    name: sagaProcessorName(saga),
    partitions: saga.partitions,
    batchSize: options.batchSize ?? 100,
    source: eventFeedSource({ upcaster: options.upcaster, eventTypes: saga.eventTypes, partitionKey: (event) => correlationKeyOf(saga, event) }),
    failurePolicy: DEFAULT_FAILURE_POLICY,
    handler: {
      mode: 'transactional',
      async handle(events, { tx }) {
        const touched = new Map<string, DispatchRequest>();
        for (const event of events) {
          try {
            const sagaId = correlationKeyOf(saga, event);
            if (sagaId === null) continue;
            const result = await handleEvent(event, `saga ${saga.name} ${event.type}`, () =>
              give(tx, sagaId, { kind: 'event', id: event.eventId, event }, startsInstance(saga, event)),
            );
            if (result.kind === 'applied') {
              // A claim made by an earlier event of the batch for this instance still stands.
              const claimed = result.claimed ?? touched.get(sagaId)?.start?.claimed;
              if (claimed) touched.set(sagaId, { sagaId, start: { instance: result.instance, claimed } });
              else if (result.newSteps.length > 0) touched.set(sagaId, { sagaId });
            }
            if (result.kind === 'ignored' && result.reason !== 'duplicate_input') {
              options.onIgnored?.({ saga: saga.name, sagaId, reason: result.reason, input: { kind: 'event', id: event.eventId, type: event.type } });
            }
          } catch (error) {
            throw new BatchItemError(`saga ${saga.name} failed on event ${event.eventId}`, event.eventId, error);
          }
        }
        return [...touched.values()];
      },
      afterCommit: (requests) => options.dispatch(saga, requests),
    },
  };
}
