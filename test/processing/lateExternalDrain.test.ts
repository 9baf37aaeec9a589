import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { acquirePartitionLease, ensurePartitionLeaseRows, registerProcessor, runFeedProcessor } from '../../core/processing';
import { expireLeases } from '../support/expireLeases';
import { deposited, opened, sleep } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

const TTL_MS = 5_000;

describe('an external drain that begins well after its lease was acquired', () => {
  it('renews the lease before its first batch: the batch starts with a whole lease, as every other external batch does', async () => {
    const name = 'late_external_drain';
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    // Given the partition left by a dead holder, whose lost batch the next run counts before it drains,
    await registerProcessor(db(), name, 1);
    await ensurePartitionLeaseRows(db(), name, 1);
    expect(await acquirePartitionLease(db(), { group: name, partitions: 1, holder: 'dead', ttlMs: 60_000 })).not.toBeNull();
    await expireLeases(db(), name);
    // and a database that takes 0.4 of a lease to answer that count,
    const slowToCount: Db = {
      ...db(),
      query: async (text, params, options) => {
        if (options?.name === 'processor_record_lease_ran_out') await sleep(0.4 * TTL_MS);
        return db().query(text, params, options);
      },
    };
    let leftAtFirstBatchMs: number | undefined;
    const processor = onePartitionProcessor(name, source, {
      mode: 'external',
      handle: async (items) => {
        if (leftAtFirstBatchMs === undefined) {
          const { rows } = await db().query<{ left_ms: string }>(
            'SELECT extract(epoch FROM expires_at - clock_timestamp()) * 1000 AS left_ms FROM partition_leases WHERE lease_group = $1',
            [name],
          );
          leftAtFirstBatchMs = Number(rows[0]?.left_ms);
        }
        return { done: items.length };
      },
    });

    // when a run takes the partition over,
    const run = await runFeedProcessor(processor, { db: slowToCount, holder: 'late', leaseTtlMs: TTL_MS, deadline: Date.now() + 20_000, concurrency: 1 });

    // then its first batch has a whole lease to work in, less the moments of the renewal and the page
    // read; on the lease as acquired it would have had 0.6 of one, and have worked for up to half.
    expect(run.items).toBe(2);
    expect(run.failures.map((failure) => failure.error.message)).toEqual([expect.stringContaining('dead')]);
    expect(leftAtFirstBatchMs).toBeGreaterThan(0.8 * TTL_MS);
  });
});
