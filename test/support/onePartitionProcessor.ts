import type { RecordedEvent } from '../../core/eventstore';
import type { FeedProcessor, FeedSource } from '../../core/processing';

/** A processor of one partition over `source`, retrying a failed batch within milliseconds: the specs' usual shape. */
export function onePartitionProcessor(
  name: string,
  source: FeedSource<RecordedEvent>,
  handler: FeedProcessor<RecordedEvent>['handler'],
  batchSize = 10,
): FeedProcessor<RecordedEvent> {
  return { name, partitions: 1, batchSize, source, failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 }, handler };
}
