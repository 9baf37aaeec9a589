import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { getProcessorStatus, runFeedProcessor, type FeedProcessor, type ProcessorPartitionStatus } from '../../core/processing';
import { expireLeases } from '../support/expireLeases';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

const LEASE_TTL_MS = 30_000;

async function processorSeenMidBatch(name: string): Promise<{ processor: FeedProcessor<RecordedEvent>; seen: () => ProcessorPartitionStatus | undefined }> {
  const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
  let seen: ProcessorPartitionStatus | undefined;
  const processor: FeedProcessor<RecordedEvent> = onePartitionProcessor(name, source, {
    mode: 'transactional',
    handle: async () => {
      // Read on another connection, as an operator would while the batch works.
      [seen] = await getProcessorStatus(db(), processor);
    },
  });
  return { processor, seen: () => seen };
}

describe("a processor's status names who holds each partition", () => {
  it('while a batch works: the holder, until its lease runs out', async () => {
    const { processor, seen } = await processorSeenMidBatch('held_mid_batch');
    const started = Date.now();

    await runFeedProcessor(processor, { db: db(), holder: 'instance-a', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 5_000, concurrency: 1 });

    expect(seen()?.heldBy).toBe('instance-a');
    // Renewed at most a few seconds after the start, by the database's clock: a margin for a slow runner.
    expect(seen()?.heldUntil?.getTime()).toBeGreaterThan(started + LEASE_TTL_MS - 10_000);
  });

  it('after the run gave the partition back: no one', async () => {
    const { processor } = await processorSeenMidBatch('given_back');

    await runFeedProcessor(processor, { db: db(), holder: 'instance-b', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 5_000, concurrency: 1 });

    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition).toMatchObject({ itemsProcessed: 2, heldBy: null, heldUntil: null });
  });

  it('after its holder died and the lease ran out: no one, though the row still names the holder', async () => {
    const { processor } = await processorSeenMidBatch('ran_out');
    await runFeedProcessor(processor, { db: db(), holder: 'instance-c', leaseTtlMs: LEASE_TTL_MS, deadline: Date.now() + 5_000, concurrency: 1 });
    // A holder that died mid-run never gives its lease back: its row keeps its name until the time runs out.
    await db().query("UPDATE partition_leases SET holder = 'instance-c', expires_at = now() + interval '1 minute' WHERE lease_group = $1", [processor.name]);
    expect((await getProcessorStatus(db(), processor))[0]?.heldBy).toBe('instance-c');

    await expireLeases(db(), processor.name);

    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ heldBy: null, heldUntil: null });
  });
});
