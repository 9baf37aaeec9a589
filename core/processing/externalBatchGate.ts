import type { Queryable } from '../db';
import type { PartitionLease } from './PartitionLease';
import { readFenceParams, readFenceSql } from './readFence';

/** Whether an external batch may go on: yes, no as its processor was stopped, or no as another holder took its partition over. */
export type ExternalBatchGate = 'open' | 'stopped' | 'taken_over';

const GATE_SQL = `
  SELECT coalesce((SELECT f.stopped_at IS NOT NULL FROM feed_processors f WHERE f.name = $1), false) AS stopped,
    NOT ${readFenceSql(2)} AS taken_over`;

/**
 * Asked before each external batch after a drain's first (in the round trip
 * that looks for a stop), and after a page with nothing in it: the page read
 * ahead while the last batch worked was read under the lease, but a holder
 * frozen since (past its lease's renewal) must not send it once thawed; and a
 * fenced source reads an empty page once the partition was taken over, which
 * is a lost lease, not a partition caught up.
 */
export async function externalBatchGate(db: Queryable, processor: string, lease: PartitionLease): Promise<ExternalBatchGate> {
  const { rows } = await db.query<{ stopped: boolean; taken_over: boolean }>(GATE_SQL, [processor, ...readFenceParams(lease)], { name: 'processor_external_batch_gate' });
  const row = rows[0];
  if (row?.taken_over) return 'taken_over';
  return row?.stopped ? 'stopped' : 'open';
}
