import type { EventUpcaster, RecordedEvent } from '../eventstore';
import { eventFeedSource, type FailurePolicy, type FeedProcessor } from '../processing';
import type { Projection } from './defineProjection';
import type { Generation } from './generationRecords';
import { processorNameOf, tableNamesOf } from './projectionNames';

/** The events one generation of a projection reads: the types it handles, of the stream types it names. */
export function projectionSource(projection: Projection, upcaster: EventUpcaster) {
  return eventFeedSource({
    upcaster,
    eventTypes: projection.eventTypes,
    ...(projection.streamTypes ? { streamTypes: projection.streamTypes } : {}),
  });
}

/**
 * One generation of a projection as a feed processor: each batch of its
 * partition's events is applied to the generation's tables in the transaction
 * that stores its checkpoint. A retired generation (replaced by a newer build)
 * has its processor stopped, and takes no more batches.
 */
export function generationProcessor(
  projection: Projection,
  generation: Generation,
  upcaster: EventUpcaster,
  failurePolicy: FailurePolicy,
): FeedProcessor<RecordedEvent, void> {
  const tables = tableNamesOf(projection.name, projection.tables, generation.generation);
  return {
    name: processorNameOf(projection.name, generation.generation),
    partitions: generation.partitions,
    batchSize: projection.batchSize,
    source: projectionSource(projection, upcaster),
    failurePolicy,
    handler: {
      mode: 'transactional',
      handle: (events, { tx }) => projection.apply(events, tx, tables),
    },
  };
}
