import type { Queryable } from '../db';
import type { Checkpoint, FeedPartition } from '../eventstore';

/** One page of a source, read after a checkpoint. */
export interface SourcePage<Item> {
  items: Item[];
  /**
   * Where the next read starts: after the last item, or further when a filter
   * skipped what came after it (up to the visible head, or the end of the
   * window a filtered page of the events feed walks).
   */
  checkpoint: Checkpoint;
  /** The page ended at the visible head of the source rather than at the limit or its window's end. */
  caughtUp: boolean;
}

/** How far behind a partition is: what is past its checkpoint, counted up to a limit, and the age of the oldest of it. */
export interface SourceLag {
  items: number;
  capped: boolean;
  /** By the database's clock, the clock the items were recorded by; 0 when nothing is past the checkpoint. */
  oldestAgeSeconds: number;
}

/**
 * An ordered, append-only source a feed processor reads: the events feed, the
 * outbox. Reads must never skip an item: only what can no longer appear behind
 * a checkpoint is returned (see readFeed's horizon).
 */
export interface FeedSource<Item> {
  read(db: Queryable, request: { after: Checkpoint; limit: number; partition: FeedPartition }): Promise<SourcePage<Item>>;
  /** The item's place, to checkpoint right after it. */
  positionOf(item: Item): Checkpoint;
  /** Named in failure records. */
  idOf(item: Item): string;
  /** The trace context the item was written in, for the batch span's links. */
  traceOf?(item: Item): string | undefined;
  lag(db: Queryable, request: { after: Checkpoint; partition: FeedPartition; limit: number }): Promise<SourceLag>;
  /** The largest page it reads, if smaller than the engine's: a processor asking more is refused before it runs. */
  maxBatchSize?: number;
}
