import type { Db } from '../../core/db';
import { streamIdInPartition } from './streamInPartition';

/**
 * `count` events of type `Posted` in one stream of partition 0 of two,
 * recorded an hour ago: a long backlog the other partition has to walk past.
 */
export async function backlogInPartitionZero(db: Db, count: number): Promise<void> {
  const hot = await streamIdInPartition(db, 0, 2);
  await db.query(
    `INSERT INTO events (stream_id, stream_type, version, event_id, type, data, recorded_at)
     SELECT $1, 'ledger', g, gen_random_uuid(), 'Posted', '{}', now() - interval '1 hour' FROM generate_series(1, $2::integer) AS g`,
    [hot, count],
  );
}
