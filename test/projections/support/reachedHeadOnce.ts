import type { Queryable } from '../../../core/db';
import { registerProcessor } from '../../../core/processing';

/**
 * As if each partition of a build's processor had reached the head of the feed
 * once and then fallen behind events appended since: the state in which a run
 * whose own partitions are caught up tries the switch, while another
 * instance's batch may still be under way on another partition.
 */
export async function asIfEachReachedTheHeadOnce(db: Queryable, processor: string, partitions: number): Promise<void> {
  await registerProcessor(db, processor, partitions);
  await db.query('UPDATE processor_partitions SET caught_up_at = clock_timestamp() WHERE processor = $1', [processor]);
}
