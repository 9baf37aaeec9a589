import type { EventUpcaster, RecordedEvent } from '../eventstore';
import { BatchItemError, DEFAULT_FAILURE_POLICY, eventFeedSource, type FeedProcessor } from '../processing';
import { correlationKeyOf } from './applyInput';
import type { Saga } from './defineSaga';
import { handleInput } from './handleInput';
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
  dispatch: (saga: Saga, sagaIds: readonly string[]) => Promise<void>;
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
export function sagaProcessor(saga: Saga, options: SagaProcessorOptions): FeedProcessor<RecordedEvent, string[]> {
  return {
    name: sagaProcessorName(saga),
    partitions: saga.partitions,
    batchSize: options.batchSize ?? 100,
    source: eventFeedSource({ upcaster: options.upcaster, eventTypes: saga.eventTypes, partitionKey: (event) => correlationKeyOf(saga, event) }),
    failurePolicy: DEFAULT_FAILURE_POLICY,
    handler: {
      mode: 'transactional',
      async handle(events, { tx }) {
        const touched = new Set<string>();
        for (const event of events) {
          try {
            const sagaId = correlationKeyOf(saga, event);
            if (sagaId === null) continue;
            const result = await handleInput(tx, saga, sagaId, { kind: 'event', id: event.eventId, event }, options.clock());
            if (result.kind === 'applied' && result.newSteps.length > 0) touched.add(sagaId);
            if (result.kind === 'ignored' && result.reason !== 'duplicate_input') {
              options.onIgnored?.({ saga: saga.name, sagaId, reason: result.reason, input: { kind: 'event', id: event.eventId, type: event.type } });
            }
          } catch (error) {
            throw new BatchItemError(`saga ${saga.name} failed on event ${event.eventId}`, event.eventId, error);
          }
        }
        return [...touched];
      },
      afterCommit: (sagaIds) => options.dispatch(saga, sagaIds),
    },
  };
}
