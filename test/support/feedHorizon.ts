import type { Queryable } from '../../core/db';
import { sleep } from './fixtures';

/**
 * Waits until every event and integration message stored so far lies below
 * the feed's horizon (the oldest transaction still running), which the outbox
 * is read below too. The horizon is the cluster's, so another
 * test file's open transaction can hold this file's events back for a moment;
 * a spec that runs a processor once and then asserts waits here first.
 */
export async function untilFeedHorizonPasses(db: Queryable, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ passed: boolean }>(
      `SELECT pg_snapshot_xmin(pg_current_snapshot()) > greatest(
         coalesce((SELECT max(tx_id) FROM events), '0'::xid8), coalesce((SELECT max(tx_id) FROM outbox), '0'::xid8)) AS passed`,
    );
    if (rows[0]?.passed) return;
    if (Date.now() > deadline) throw new Error('the feed horizon did not pass the stored events in time');
    await sleep(20);
  }
}
