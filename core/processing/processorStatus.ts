import type { Queryable } from '../db';
import { formatCheckpoint } from '../eventstore';
import type { FeedSource, SourceLag } from './FeedSource';
import { isStorableName } from './partitionLeases';
import { checkNameAndPartitions } from './processorRunChecks';

/** Items past a checkpoint are counted up to this many; `lagCapped` says when there are more. */
export const LAG_COUNT_LIMIT = 10_000;

export interface ProcessorPartitionStatus {
  partition: number;
  /** `"<txId>:<position>"`. */
  checkpoint: string;
  state: 'running' | 'failed';
  /** The processor was stopped for good (a projection build replaced by another): no run takes a batch of it. */
  stopped: boolean;
  /** Nothing is past the checkpoint now. */
  caughtUp: boolean;
  /** Whether a batch ever reached the visible head. */
  everCaughtUp: boolean;
  /** Items past the checkpoint, counted up to LAG_COUNT_LIMIT. */
  lagItems: number;
  lagCapped: boolean;
  /** Age of the oldest item past the checkpoint; 0 when there is none. */
  lagSeconds: number;
  itemsProcessed: number;
  attempts: number;
  lastError: string | null;
  failedItemId: string | null;
  nextAttemptAt: Date | null;
  /**
   * `nextAttemptAt` is still ahead by the database's clock, the one runs go by:
   * no run takes a batch of the partition before then. A reader's own clock may
   * be off from the database's by more than a backoff lasts.
   */
  waitingOutBackoff: boolean;
  updatedAt: Date;
  /** The instance holding the partition's lease now (the holder it was given), or null when none does. */
  heldBy: string | null;
  /** When that lease runs out unless renewed; null when no one holds it. */
  heldUntil: Date | null;
}

interface PartitionRow {
  partition: number;
  checkpoint_tx: string;
  checkpoint_position: string;
  state: 'running' | 'failed';
  stopped: boolean;
  caught_up: boolean;
  items_processed: string;
  attempts: number;
  last_error: string | null;
  failed_item_id: string | null;
  next_attempt_at: Date | null;
  waiting_out_backoff: boolean;
  updated_at: Date;
  held_by: string | null;
  held_until: Date | null;
}

const PARTITIONS_SQL = `
  SELECT p.partition, p.checkpoint_tx, p.checkpoint_position, p.state, f.stopped_at IS NOT NULL AS stopped,
         p.caught_up_at IS NOT NULL AS caught_up, p.items_processed, p.attempts, p.last_error, p.failed_item_id,
         p.next_attempt_at, coalesce(p.next_attempt_at > clock_timestamp(), false) AS waiting_out_backoff, p.updated_at, l.holder AS held_by, l.expires_at AS held_until
  FROM processor_partitions p JOIN feed_processors f ON f.name = p.processor
  LEFT JOIN partition_leases l
    ON l.lease_group = p.processor AND l.partition = p.partition AND l.holder IS NOT NULL AND l.expires_at >= clock_timestamp()
  WHERE p.processor = $1 ORDER BY p.partition`;

/** Every partition of a processor with its checkpoint, lag and failure state; none before it first ran. */
export async function getProcessorStatus<Item>(
  db: Queryable,
  processor: { name: string; source: FeedSource<Item> },
): Promise<ProcessorPartitionStatus[]> {
  // No processor can have such a name: asked for, PostgreSQL would refuse the text itself.
  if (!isStorableName(processor.name)) return [];
  const { rows } = await db.query<PartitionRow>(PARTITIONS_SQL, [processor.name]);
  // One partition after another: `db` may be one connection (a status read in one snapshot), which takes one statement at a time.
  const statuses: ProcessorPartitionStatus[] = [];
  for (const row of rows) {
    const after = { txId: BigInt(row.checkpoint_tx), position: BigInt(row.checkpoint_position) };
    const lag = await processor.source.lag(db, { after, partition: { index: row.partition, count: rows.length }, limit: LAG_COUNT_LIMIT });
    statuses.push({
      partition: row.partition,
      checkpoint: formatCheckpoint(after),
      state: row.state,
      stopped: row.stopped,
      // Capped with nothing counted: the source walked past items it skips, and stopped short of the rest.
      caughtUp: lag.items === 0 && !lag.capped,
      everCaughtUp: row.caught_up,
      lagItems: lag.items,
      lagCapped: lag.capped,
      lagSeconds: lag.oldestAgeSeconds,
      itemsProcessed: Number(row.items_processed),
      attempts: row.attempts,
      lastError: row.last_error,
      failedItemId: row.failed_item_id,
      nextAttemptAt: row.next_attempt_at,
      waitingOutBackoff: row.waiting_out_backoff,
      updatedAt: row.updated_at,
      heldBy: row.held_by,
      heldUntil: row.held_until,
    });
  }
  return statuses;
}

/** What waits in one partition of a processor. */
export interface PartitionLag extends SourceLag {
  partition: number;
}

export interface ProcessorLag {
  /** Every partition's status; none before the processor first ran. */
  partitions: ProcessorPartitionStatus[];
  /** What waits in each partition, also before the processor first ran. */
  waiting: PartitionLag[];
}

// Where a processor's partitions will start: the start of its source unless its row says otherwise.
const START_SQL = 'SELECT start_tx, start_position FROM feed_processors WHERE name = $1';

/**
 * How far behind a processor is. Before it first ran it has no partitions, yet
 * its source waits for it: each of `partitions` (one when not given) then counts
 * what lies past the processor's starting point, where its partitions will start.
 */
export async function getProcessorLag<Item>(
  db: Queryable,
  processor: { name: string; source: FeedSource<Item>; partitions?: number },
): Promise<ProcessorLag> {
  const count = processor.partitions ?? 1;
  // Counted per partition: 0 would count nothing and say nothing waits; 2.5 fails in SQL, untyped.
  checkNameAndPartitions(processor.name, count);
  const partitions = await getProcessorStatus(db, processor);
  if (partitions.length > 0) {
    const waiting = partitions.map((status) => ({ partition: status.partition, items: status.lagItems, capped: status.lagCapped, oldestAgeSeconds: status.lagSeconds }));
    return { partitions, waiting };
  }
  const { rows } = await db.query<{ start_tx: string; start_position: string }>(START_SQL, [processor.name]);
  const after = { txId: BigInt(rows[0]?.start_tx ?? 0), position: BigInt(rows[0]?.start_position ?? 0) };
  const waiting: PartitionLag[] = [];
  for (let index = 0; index < count; index++) {
    waiting.push({ partition: index, ...(await processor.source.lag(db, { after, partition: { index, count }, limit: LAG_COUNT_LIMIT })) });
  }
  return { partitions, waiting };
}
