import type { Db } from '../../core/db';
import { uniqueStreamId } from './fixtures';

/** A new stream's id in the given one of two partitions (by stream_partition, as the readers split the feed). */
export async function streamInPartition(db: Db, partition: number): Promise<string> {
  for (;;) {
    const streamId = uniqueStreamId();
    const { rows } = await db.query<{ partition: number }>('SELECT stream_partition($1, 2) AS partition', [streamId]);
    if (rows[0]?.partition === partition) return streamId;
  }
}

/**
 * `count` events of type `Posted` in one stream of partition 0 of two,
 * recorded an hour ago: a long backlog the other partition has to walk past.
 */
export async function backlogInPartitionZero(db: Db, count: number): Promise<void> {
  const hot = await streamInPartition(db, 0);
  await db.query(
    `INSERT INTO events (stream_id, stream_type, version, event_id, type, data, recorded_at)
     SELECT $1, 'ledger', g, gen_random_uuid(), 'Posted', '{}', now() - interval '1 hour' FROM generate_series(1, $2::integer) AS g`,
    [hot, count],
  );
}
