import type { Queryable } from '../db';
import type { PartitionLease, LeaseRow } from './PartitionLease';
import { toLease } from './PartitionLease';

/** A lease one of the run's drains holds, and when (on this process's monotonic clock) it was last renewed. */
export interface HeldLease {
  lease: PartitionLease;
  renewedAt: number;
  /**
   * Its drain's batch has its transaction, from its start until it settles:
   * the batch answers for its own lease then. Renewed by a sibling once the
   * server had ended a hung batch's transaction, a lease whose drain will never
   * go on would be kept for as long as the siblings commit.
   */
  inBatch: boolean;
}

// Rows another transaction has locked are skipped, never waited for: a drain's batch
// holds its own lease row share-locked, and its lease needs nothing from a sibling then.
const RENEW_UNLOCKED_SQL = `
  UPDATE partition_leases AS l
  SET expires_at = clock_timestamp() + make_interval(secs => $5 / 1000.0)
  FROM (
    SELECT s.lease_group, s.partition FROM partition_leases s
    JOIN unnest($2::integer[], $3::bigint[]) AS h(partition, epoch) ON h.partition = s.partition AND h.epoch = s.epoch
    WHERE s.lease_group = $1 AND s.holder = $4
    FOR UPDATE OF s SKIP LOCKED) AS unlocked
  WHERE l.lease_group = unlocked.lease_group AND l.partition = unlocked.partition
  RETURNING l.lease_group, l.partition, l.holder, l.epoch, l.expires_at`;

/**
 * The leases a run's drains hold now. More drains than the pool has
 * connections queue for one, and a drain queued renews nothing: another
 * instance would take its partition over as from a dead holder. So a batch
 * about to commit renews, in its own transaction, the leases of its siblings
 * that have used half their time: while any of them commits as often as a
 * lease lasts, none queued behind them runs out.
 */
export class LeasesHeldByRun {
  private readonly held = new Map<number, HeldLease>();

  constructor(private readonly ttlMs: number) {}

  hold(lease: PartitionLease, askedAt: number): HeldLease {
    const held = { lease, renewedAt: askedAt, inBatch: false };
    this.held.set(lease.partition, held);
    return held;
  }

  release(held: HeldLease): void {
    if (this.held.get(held.lease.partition) === held) this.held.delete(held.lease.partition);
  }

  /**
   * In a batch's transaction: renews the other drains' leases that have used
   * half their time, where no batch of theirs is under way (or has them locked). What it returns
   * keeps the renewals, to be called once the transaction has committed: kept
   * before, a commit that failed would leave a sibling sure of a renewal the
   * database rolled back, and it would skip its own.
   */
  async renewSiblingsOf(own: HeldLease, tx: Queryable): Promise<() => void> {
    const due = [...this.held.values()].filter((held) => held !== own && !held.inBatch && performance.now() - held.renewedAt > this.ttlMs / 2);
    const [first] = due;
    if (!first) return () => undefined;
    const { group, holder, partitions } = first.lease;
    const renewedAt = performance.now();
    const { rows } = await tx.query<LeaseRow>(RENEW_UNLOCKED_SQL, [
      group,
      due.map((held) => held.lease.partition),
      due.map((held) => held.lease.epoch.toString()),
      holder,
      this.ttlMs,
    ]);
    return () => {
      for (const row of rows) {
        const held = this.held.get(row.partition);
        if (held?.lease.epoch !== BigInt(row.epoch)) continue;
        held.lease = toLease(row, partitions);
        held.renewedAt = renewedAt;
      }
    };
  }
}
