import { describe, expect, it } from 'vitest';
import { acquirePartitionLease, runFeedProcessor, type AcquiredLease } from '../../core/processing';
import { deferred, deposited, opened, sleep } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(6);

const LEASE_TTL_MS = 1_500;

describe('a live holder pausing between tries of an interrupted batch', () => {
  it('keeps its lease through a pause longer than the lease: another instance finds the partition held, and no holder is reported dead', async () => {
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    let natsUp = false;
    const firstTry = deferred();
    const processor = onePartitionProcessor('pausing_holder', source, {
      mode: 'external',
      handle: (items) => {
        firstTry.resolve();
        return Promise.resolve(natsUp ? { done: items.length } : { done: 0, error: new Error('NATS unreachable') });
      },
    });
    // The pause after the first interruption is 4 to 8 s (jittered): longer than the lease either way, and
    // ending well after the other instance has tried, however late it starts on a loaded machine.
    const pausing = runFeedProcessor(processor, {
      db: db(),
      holder: 'pausing',
      leaseTtlMs: LEASE_TTL_MS,
      deadline: Date.now() + 15_000,
      concurrency: 1,
      interruptionBackoff: { baseMs: 8_000, maxMs: 8_000 },
    });
    await firstTry.promise;
    // Past the lease, well within the pause.
    await sleep(LEASE_TTL_MS + 500);
    natsUp = true;

    const other = await runFeedProcessor(processor, { db: db(), holder: 'other', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 3_000, concurrency: 1 });

    expect(other).toMatchObject({ items: 0, partitions: [], failures: [] });
    expect(await pausing).toMatchObject({ items: 2, caughtUp: true, failures: [] });
  });
});

describe('transactional batches that each outlive their lease', () => {
  it('are not taken over between a commit and the next batch: instances trying all along never take the partition from its live holder', async () => {
    const { source } = await newStreamSource(db(), [opened(), deposited(1), deposited(2)]);
    const slowBatchStarted = deferred();
    const processor = onePartitionProcessor(
      'outlived_lease',
      source,
      {
        mode: 'transactional',
        handle: async () => {
          slowBatchStarted.resolve();
          await sleep(LEASE_TTL_MS + 300);
        },
      },
      1,
    );
    let running = true;
    const takenFromAlive: AcquiredLease[] = [];
    // Three at once, each trying again as soon as it is answered: a moment the partition is free is found.
    const tryingAllAlong = Array.from({ length: 3 }, async (_, index) => {
      await slowBatchStarted.promise;
      while (running) {
        const lease = await acquirePartitionLease(db(), { group: processor.name, partitions: 1, holder: `other-${index}`, ttlMs: 60_000 });
        if (lease?.tookOverFrom === 'alive') takenFromAlive.push(lease);
        if (lease) return;
      }
    });

    const run = await runFeedProcessor(processor, { db: db(), holder: 'alive', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 20_000, concurrency: 1 });
    running = false;
    await Promise.all(tryingAllAlong);

    expect(takenFromAlive).toEqual([]);
    expect(run).toMatchObject({ items: 3, caughtUp: true, failures: [] });
  });
});
