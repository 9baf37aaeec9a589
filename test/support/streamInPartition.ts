import type { Queryable } from '../../core/db';
import { uniqueStreamId } from './fixtures';

/** A new stream id that `stream_partition` puts in `partition` of `count`. */
export async function streamIdInPartition(db: Queryable, partition: number, count: number): Promise<string> {
  for (;;) {
    const streamId = uniqueStreamId();
    const { rows } = await db.query<{ p: number }>('SELECT stream_partition($1, $2) AS p', [streamId, count]);
    if (rows[0]?.p === partition) return streamId;
  }
}
