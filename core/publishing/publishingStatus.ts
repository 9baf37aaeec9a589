import type { Queryable } from '../db';
import { getProcessorStatus, LAG_COUNT_LIMIT, type FeedSource, type ProcessorPartitionStatus } from '../processing';
import { eventMessages } from './eventMessages';
import { outboxMessages } from './outboxMessages';
import { EVENTS_PUBLISHER, OUTBOX_PUBLISHER } from './publisherProcessors';

export interface BacklogStatus {
  /** Items past the checkpoints, counted up to the engine's limit per partition. */
  backlog: number;
  backlogCapped: boolean;
  /** Age of the oldest item waiting; 0 when none waits. */
  oldestAgeSeconds: number;
  partitions: ProcessorPartitionStatus[];
}

export interface PublishingStatus {
  /** Stored events not yet published (private ones included: routing is code, not data). */
  events: BacklogStatus;
  /** Integration messages not yet published. */
  outbox: BacklogStatus;
  /** Messages NATS refused for good: they need a person. */
  parked: number;
}

// Before a processor first ran it has no partitions: its backlog is then all of its
// source after its starting point, as one partition.
const START_SQL = 'SELECT start_tx, start_position FROM feed_processors WHERE name = $1';

async function backlogOf<Item>(db: Queryable, name: string, source: FeedSource<Item>): Promise<BacklogStatus> {
  const partitions = await getProcessorStatus(db, { name, source });
  if (partitions.length === 0) {
    const { rows } = await db.query<{ start_tx: string; start_position: string }>(START_SQL, [name]);
    const after = { txId: BigInt(rows[0]?.start_tx ?? 0), position: BigInt(rows[0]?.start_position ?? 0) };
    const lag = await source.lag(db, { after, partition: { index: 0, count: 1 }, limit: LAG_COUNT_LIMIT });
    return { backlog: lag.items, backlogCapped: lag.capped, oldestAgeSeconds: lag.oldestAgeSeconds, partitions: [] };
  }
  return {
    backlog: partitions.reduce((sum, partition) => sum + partition.lagItems, 0),
    backlogCapped: partitions.some((partition) => partition.lagCapped),
    oldestAgeSeconds: Math.max(0, ...partitions.map((partition) => partition.lagSeconds)),
    partitions,
  };
}

/** What waits to be published, how old it is, and how many messages are parked. */
export async function readPublishingStatus(db: Queryable): Promise<PublishingStatus> {
  const { rows } = await db.query<{ parked: number }>('SELECT count(*)::int AS parked FROM parked_messages');
  return {
    events: await backlogOf(db, EVENTS_PUBLISHER, eventMessages(() => false)),
    outbox: await backlogOf(db, OUTBOX_PUBLISHER, outboxMessages(() => false)),
    parked: rows[0]?.parked ?? 0,
  };
}
