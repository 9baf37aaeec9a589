import type { Queryable } from '../db';
import type { PartitionLease } from './PartitionLease';

/** Whether an external batch may go on: yes, no as its processor was stopped, or no as another holder took its partition over. */
export type ExternalBatchGate = 'open' | 'stopped' | 'taken_over';

// Taken over: an acquirer moved the epoch. No lock: a process frozen mid-statement leaves none behind.
const GATE_SQL = `
  SELECT coalesce((SELECT f.stopped_at IS NOT NULL FROM feed_processors f WHERE f.name = $1), false) AS stopped,
    NOT EXISTS (SELECT FROM partition_leases l WHERE l.lease_group = $2 AND l.partition = $3 AND l.holder = $4 AND l.epoch = $5) AS taken_over`;

/**
 * Asked after each page an external batch reads, before it handles the page. An
 * epoch only grows, so a lease not taken over now was not taken over when the
 * page was read: what the page holds is still this holder's to handle, as read
 * (a successor's work would show in it otherwise: its checkpoint, the old
 * outbox's marks its cleanup deleted). Read before a freeze past the lease (a
 * Lambda's freeze, or the page read ahead while the last batch worked), a page
 * whose partition was taken over meanwhile is not handled.
 */
export async function externalBatchGate(db: Queryable, processor: string, lease: PartitionLease): Promise<ExternalBatchGate> {
  const { rows } = await db.query<{ stopped: boolean; taken_over: boolean }>(
    GATE_SQL,
    [processor, lease.group, lease.partition, lease.holder, lease.epoch.toString()],
    { name: 'processor_external_batch_gate' },
  );
  const row = rows[0];
  if (row?.taken_over) return 'taken_over';
  return row?.stopped ? 'stopped' : 'open';
}
