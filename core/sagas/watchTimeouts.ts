import { acquirePartitionLease, releasePartitionLease } from '../processing';
import type { Db } from '../db';
import type { SweepReport } from './sagaSweeper';

export interface WatchOptions {
  db: Db;
  holder: string;
  /** Epoch ms: the watch ends here (before the Lambda's time limit). */
  deadline: number;
  /** How often it looks again for timeouts scheduled since (default 1 s). */
  pollMs?: number;
}

const WATCH_GROUP = 'saga-sweeper';

/**
 * Sweeps, then keeps sweeping until the deadline so timeouts fire within a
 * poll of their due time, not a schedule later. One sweeper at a time watches
 * (it holds a lease); the others sweep once and return, so the nudges a busy
 * service sends do not keep many sweepers waiting.
 */
export async function watchTimeouts(sweep: () => Promise<SweepReport>, options: WatchOptions): Promise<SweepReport & { watched: boolean }> {
  const total: SweepReport = { fired: 0, ignored: 0, redriven: 0 };
  const add = (report: SweepReport) => {
    total.fired += report.fired;
    total.ignored += report.ignored;
    total.redriven += report.redriven;
  };
  add(await sweep());
  const ttlMs = Math.max(1_000, options.deadline - Date.now() + 5_000);
  const lease = await acquirePartitionLease(options.db, { group: WATCH_GROUP, partitions: 1, holder: options.holder, ttlMs });
  if (!lease) return { ...total, watched: false };
  try {
    const pollMs = options.pollMs ?? 1_000;
    while (Date.now() + pollMs < options.deadline) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      add(await sweep());
    }
  } finally {
    await releasePartitionLease(options.db, lease);
  }
  return { ...total, watched: true };
}
