import {
  compareCheckpoints,
  type Checkpoint,
  type EventStore,
  type ReadFeedOptions,
  type RecordedEvent,
} from '../../core/eventstore';
import { sleep } from './fixtures';

/**
 * Follows the feed from `after` until its checkpoint reaches `through`. The feed's
 * horizon is cluster-wide, so a transaction held open elsewhere (another test
 * file) may briefly delay visibility: this waits instead of assuming immediacy.
 */
export async function readThrough(
  store: EventStore,
  after: Checkpoint,
  through: Checkpoint,
  options: Omit<ReadFeedOptions, 'after'> = {},
  timeoutMs = 15_000,
): Promise<{ events: RecordedEvent[]; checkpoint: Checkpoint }> {
  const deadline = Date.now() + timeoutMs;
  const events: RecordedEvent[] = [];
  let checkpoint = after;
  while (compareCheckpoints(checkpoint, through) < 0) {
    const page = await store.readFeed({ ...options, after: checkpoint });
    if (compareCheckpoints(page.checkpoint, checkpoint) < 0) throw new Error('the feed checkpoint moved backwards');
    events.push(...page.events);
    checkpoint = page.checkpoint;
    if (page.caughtUp && compareCheckpoints(checkpoint, through) < 0) {
      if (Date.now() > deadline) throw new Error(`the feed did not reach ${String(through.position)} in time`);
      await sleep(10);
    }
  }
  return { events, checkpoint };
}

/**
 * Reads the feed from `after` page by page until a page says it caught up: what
 * a reader sees in one go, without waiting for anything. Wait for the feed's
 * horizon first (untilFeedHorizonPasses) when the events must be visible.
 */
export async function readToHead(
  store: EventStore,
  after: Checkpoint,
  options: Omit<ReadFeedOptions, 'after'> = {},
): Promise<{ events: RecordedEvent[]; checkpoint: Checkpoint }> {
  const events: RecordedEvent[] = [];
  for (let page = await store.readFeed({ ...options, after }); ; page = await store.readFeed({ ...options, after: page.checkpoint })) {
    events.push(...page.events);
    if (page.caughtUp) return { events, checkpoint: page.checkpoint };
  }
}
