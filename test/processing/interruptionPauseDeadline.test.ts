import { describe, expect, it } from 'vitest';
import { runFeedProcessor } from '../../core/processing';
import { deposited, opened, sleep } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

// One connection: a statement of the drain's siblings, or of anything else, and the drain's renewal queue behind each other.
const testDatabase = usePooledTestDatabase(1);

describe('the pause after an interrupted external batch', () => {
  it('given a renewal that waits for the pool until just past the deadline, the run ends then, not a whole pause later', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), deposited(1)]);
    const busy: Array<Promise<unknown>> = [];
    // Its work long enough for a renewal to be due (a third of the lease) when the pause begins.
    const processor = onePartitionProcessor('pause-past-deadline', source, {
      mode: 'external',
      handle: async () => {
        await sleep(1_200);
        return { done: 0, error: new Error('NATS: no responders') };
      },
    });
    const deadline = Date.now() + 3_500;

    const ran = await runFeedProcessor(processor, {
      db,
      holder: 'pause-spec',
      leaseTtlMs: 3_000,
      deadline,
      concurrency: 1,
      // Far longer than the run: the pause is cut to the time left.
      interruptionBackoff: { baseMs: 60_000, maxMs: 60_000 },
      // Another user of the pool takes its one connection as the pause begins, until just past the deadline.
      onInterrupted: () => {
        busy.push(db.query('SELECT pg_sleep($1::float8 / 1000)', [Math.max(0, deadline - Date.now()) + 100]));
      },
    });
    const overrunMs = Date.now() - deadline;
    await Promise.all(busy);

    expect(ran.lastError).toMatchObject({ message: 'NATS: no responders' });
    expect(busy).toHaveLength(1);
    // The pool's wait, and the renewal and release after it; not the pause of about 2 s on top.
    expect(overrunMs).toBeLessThan(1_200);
  });
});
