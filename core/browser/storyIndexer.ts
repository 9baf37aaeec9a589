import type { Db } from '../db';
import { NO_UPCASTING, type RecordedEvent } from '../eventstore';
import { DEFAULT_FAILURE_POLICY, eventFeedSource, runFeedProcessor, type FeedProcessor, type ProcessorRun } from '../processing';

/** The feed processor that fills story_keys (migration 0037); its checkpoint is where the browser's own reading of events starts. */
export const STORY_INDEXER = 'browser:story-keys';

// The keys as the browser looks them up: the correlation id as text, and the trace id
// as the 32 digits after a W3C traceparent's version. Read from the stored metadata, so
// a key is the text the events' own columns would give.
const INDEX_BATCH_SQL = `
  INSERT INTO story_keys (tx_id, global_position, correlation_id, trace_id)
  SELECT k.tx_id, k.global_position, k.metadata ->> 'correlationId', substr(k.metadata ->> 'traceparent', 4, 32)
  FROM unnest($1::xid8[], $2::bigint[], $3::jsonb[]) AS k(tx_id, global_position, metadata)
  WHERE k.metadata ? 'correlationId' OR k.metadata ? 'traceparent'`;

const hasStoryKey = (event: RecordedEvent) => 'correlationId' in event.metadata || 'traceparent' in event.metadata;

/**
 * One partition, events read as stored (the keys are in the metadata, which no
 * upcaster changes): a batch's keys are written in the transaction that stores
 * its checkpoint, so each event is indexed exactly once.
 */
export const storyIndexer: FeedProcessor<RecordedEvent, number> = {
  name: STORY_INDEXER,
  partitions: 1,
  batchSize: 1_000,
  source: eventFeedSource({ upcaster: NO_UPCASTING }),
  failurePolicy: DEFAULT_FAILURE_POLICY,
  handler: {
    mode: 'transactional',
    async handle(events, { tx }) {
      const keyed = events.filter(hasStoryKey);
      if (keyed.length === 0) return 0;
      await tx.query(
        INDEX_BATCH_SQL,
        [keyed.map((event) => event.txId.toString()), keyed.map((event) => event.globalPosition.toString()), keyed.map((event) => JSON.stringify(event.metadata))],
        { name: 'story_keys_index_batch' },
      );
      return keyed.length;
    },
  },
};

export interface StoryIndexRunOptions {
  holder: string;
  /** Epoch ms after which no new batch starts. */
  deadline: number;
  leaseTtlMs?: number;
}

/**
 * Indexes the feed's stories up to the visible head, or until the deadline:
 * what the command sweeper function and the dev server run. A failed batch is
 * retried by a later run (the failure policy's backoff); this one throws its
 * error, after the batches before it were kept.
 */
export async function indexStories(db: Db, options: StoryIndexRunOptions): Promise<ProcessorRun> {
  const run = await runFeedProcessor(storyIndexer, { db, holder: options.holder, deadline: options.deadline, leaseTtlMs: options.leaseTtlMs ?? 30_000, concurrency: 1 });
  const [failure] = run.failures;
  if (failure) throw failure.error;
  return run;
}
