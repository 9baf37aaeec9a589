import type { Queryable } from '../db';
import type { Checkpoint } from '../eventstore';
import { BatchItemError } from './BatchItemError';
import type { FeedProcessor } from './FeedProcessor';

/**
 * Whether a partition has anything to handle past a checkpoint, read as a batch
 * reads it (below the horizon), one item at most. A page that stopped short of
 * the head without an item (a source keeping its partition's keys of what it
 * read) may have more behind it, so it counts; so does an item the source
 * cannot hand over, whose batch records why.
 */
export async function hasWorkPast<Item>(db: Queryable, processor: FeedProcessor<Item>, partition: number, checkpoint: Checkpoint): Promise<boolean> {
  try {
    const page = await processor.source.read(db, { after: checkpoint, limit: 1, partition: { index: partition, count: processor.partitions } });
    return page.items.length > 0 || !page.caughtUp;
  } catch (error) {
    if (error instanceof BatchItemError) return true;
    throw error;
  }
}
