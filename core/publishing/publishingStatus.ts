import { readInOneSnapshot, type Db, type Queryable } from '../db';
import { getProcessorLag, type FeedSource, type ProcessorPartitionStatus } from '../processing';
import { eventMessages } from './eventMessages';
import { outboxMessages } from './outboxMessages';
import { ON_ITS_WAY_SQL, PARKED_WITH_SOURCE_ROWS } from './parkedMessages';
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
  /** Stored events not yet published (private ones included, routing being code, not data; but not those settled behind one still waiting). */
  events: BacklogStatus;
  /** Integration messages not yet published. */
  outbox: BacklogStatus;
  /**
   * Messages NATS refused for good that need a person: not requeued, or
   * requeued with their event or outbox row gone (nothing can send them).
   */
  parked: number;
  /** Parked messages requeued and on their way: the next runs send them (or park them again). */
  requeued: number;
}

const PARKED_COUNTS_SQL = `
  SELECT count(*) FILTER (WHERE NOT on_its_way)::int AS parked, count(*) FILTER (WHERE on_its_way)::int AS requeued
  FROM (SELECT ${ON_ITS_WAY_SQL} AS on_its_way FROM ${PARKED_WITH_SOURCE_ROWS}) AS parked`;

// Before a processor first ran it has no partitions: its backlog is then all of its
// source after its starting point, as one partition.
async function backlogOf<Item>(db: Queryable, name: string, source: FeedSource<Item>): Promise<BacklogStatus> {
  const { partitions, waiting } = await getProcessorLag(db, { name, source });
  return {
    backlog: waiting.reduce((sum, partition) => sum + partition.items, 0),
    backlogCapped: waiting.some((partition) => partition.capped),
    oldestAgeSeconds: Math.max(0, ...waiting.map((partition) => partition.oldestAgeSeconds)),
    partitions,
  };
}

/**
 * What waits to be published, how old it is, and how many messages are
 * parked and requeued, as one reading: in separate snapshots, a message parked between
 * two of its statements would be counted neither waiting nor parked.
 */
export function readPublishingStatus(db: Db): Promise<PublishingStatus> {
  return readInOneSnapshot(db, async (tx) => {
    const { rows } = await tx.query<{ parked: number; requeued: number }>(PARKED_COUNTS_SQL);
    return {
      events: await backlogOf(tx, EVENTS_PUBLISHER, eventMessages()),
      outbox: await backlogOf(tx, OUTBOX_PUBLISHER, outboxMessages()),
      parked: rows[0]?.parked ?? 0,
      requeued: rows[0]?.requeued ?? 0,
    };
  });
}
