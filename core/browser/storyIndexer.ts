import type { Db } from '../db';
import { NO_UPCASTING, type RecordedEvent } from '../eventstore';
import { DEFAULT_LEASE_TTL_MS, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor, type ProcessorRun } from '../processing';
import { CORRELATION_OF_EVENT, STORY_INDEXER, TRACE_OF_EVENT } from './storyKeys';
import { StoryIndexFailedError } from './StoryIndexFailedError';

// Each event of the batch read again by its place, so its keys are the stored text the
// browser's walk past the checkpoint reads too. Events with neither key take no row.
const INDEX_BATCH_SQL = `
  INSERT INTO story_keys (tx_id, global_position, correlation_id, trace_id)
  SELECT e.tx_id, e.global_position, ${CORRELATION_OF_EVENT}, ${TRACE_OF_EVENT}
  FROM unnest($1::xid8[], $2::bigint[]) AS k(tx_id, global_position)
  JOIN events e ON e.tx_id = k.tx_id AND e.global_position = k.global_position
  WHERE ${CORRELATION_OF_EVENT} IS NOT NULL OR ${TRACE_OF_EVENT} IS NOT NULL`;

/**
 * One partition, events read as stored (the keys are in the metadata, which no
 * upcaster changes): a batch's keys are written in the transaction that stores
 * its checkpoint, so each event is indexed exactly once. It never gives up on a
 * batch: every story would otherwise walk the events past it, for ever.
 */
export const storyIndexer: FeedProcessor<RecordedEvent, void> = {
  name: STORY_INDEXER,
  partitions: 1,
  batchSize: 1_000,
  source: eventFeedSource({ upcaster: NO_UPCASTING }),
  failurePolicy: { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 1_000, maxDelayMs: 60_000 },
  handler: {
    mode: 'transactional',
    async handle(events, { tx }) {
      await tx.query(INDEX_BATCH_SQL, [events.map((event) => event.txId.toString()), events.map((event) => event.globalPosition.toString())], {
        name: 'story_keys_index_batch',
      });
    },
  },
};

export interface StoryIndexRunOptions {
  /** Names this instance in the lease: one per process (or Lambda container). */
  holder: string;
  /** Epoch ms after which no new batch starts. */
  deadline: number;
}

/**
 * Indexes the feed's stories up to the visible head, or until the deadline:
 * what the command sweeper function and the dev server run. A run that failed a
 * batch, or found the partition failed (stopped by hand, or by an older
 * release's policy), throws StoryIndexFailedError with what it did before.
 */
export async function indexStories(db: Db, options: StoryIndexRunOptions): Promise<ProcessorRun> {
  const run = await runFeedProcessor(storyIndexer, { db, holder: options.holder, deadline: options.deadline, leaseTtlMs: DEFAULT_LEASE_TTL_MS, concurrency: 1 });
  const [failure] = run.failures;
  if (failure) throw new StoryIndexFailedError(`the story index failed a batch (attempt ${String(failure.attempts)}); it is retried after a pause`, run, { cause: failure.error });
  if (run.heldBack.length > 0) {
    const [partition] = await getProcessorStatus(db, storyIndexer);
    if (partition?.state === 'failed') {
      throw new StoryIndexFailedError(`the story index is failed at event ${String(partition.failedItemId)}: ${String(partition.lastError)}; resumeProcessors(db, ['${STORY_INDEXER}']) retries it`, run);
    }
  }
  return run;
}
