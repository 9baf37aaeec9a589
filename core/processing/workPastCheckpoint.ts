import type { Queryable } from '../db';
import { BatchItemError } from './BatchItemError';
import type { FeedProcessor } from './FeedProcessor';
import { readPartition } from './processorRecords';

/**
 * Whether a partition has anything a run could handle past its stored
 * checkpoint, read as a batch reads it (below the horizon), one item at most.
 * A page that stopped short of the head without an item (a source keeping its
 * partition's keys of what it read) may have more behind it, so it counts; so
 * does an item the source cannot hand over, whose batch records why. A
 * partition of a stopped processor, or one failed or waiting out a failure's
 * backoff, has none: no run could take a batch on it.
 */
export async function hasWorkPast<Item>(db: Queryable, processor: FeedProcessor<Item>, partition: number): Promise<boolean> {
  const state = await readPartition(db, processor.name, partition);
  if (!state || state.stopped || state.state === 'failed' || state.waitUntil) return false;
  try {
    const page = await processor.source.read(db, { after: state.checkpoint, limit: 1, partition: { index: partition, count: processor.partitions } });
    return page.items.length > 0 || !page.caughtUp;
  } catch (error) {
    if (error instanceof BatchItemError) return true;
    throw error;
  }
}
