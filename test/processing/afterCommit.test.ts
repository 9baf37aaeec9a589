import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import type { Db } from '../../core/db';
import { acquirePartitionLease, BatchItemError, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

/** The test's database with one new event of this stream type, past the feed's horizon; and the event's id. */
async function withOneEvent(streamType: string): Promise<{ db: Db; eventId: string | undefined }> {
  const db = testDatabase();
  const { events } = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType, expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db);
  return { db, eventId: events[0]?.eventId };
}

/** A one-partition processor of every event whose batch gives its event ids to `afterCommit`. */
function afterCommitting(
  name: string,
  batchSize: number,
  afterCommit: (eventIds: readonly string[]) => Promise<void>,
  only: { handleMs?: number; streamType?: string } = {},
): FeedProcessor<RecordedEvent, readonly string[]> {
  return {
    name,
    partitions: 1,
    batchSize,
    source: eventFeedSource({ upcaster: NO_UPCASTING, ...(only.streamType ? { streamTypes: [only.streamType] } : {}) }),
    failurePolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20 },
    handler: {
      mode: 'transactional',
      handle: async (batch) => {
        await sleep(only.handleMs ?? 0);
        return batch.map((event) => event.eventId);
      },
      afterCommit,
    },
  };
}

describe('work after a batch’s commit', () => {
  it('given an afterCommit that fails on an item, the committed batch stays applied and its partition is not counted as failing; the run says why', async () => {
    const { db, eventId } = await withOneEvent('account');
    const applied: string[] = [];
    const processor = afterCommitting('failing_after_commit', 10, (eventIds) => {
      applied.push(...eventIds);
      return Promise.reject(new BatchItemError('dispatch failed', eventIds[0] ?? null, new Error('NATS down'), 'failure_policy'));
    });

    const run = runFeedProcessor(processor, { db, holder: 'after-commit', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
    await expect(run).rejects.toThrow(/dispatch failed/);

    expect(applied).toEqual([eventId]);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 0, lastError: null, lagItems: 0 });
  });

  it('given an afterCommit that outlasts the lease, when another instance runs meanwhile, then it does not take the partition over: the holder is not counted dead', async () => {
    const { db } = await withOneEvent('account');
    let started!: () => void;
    const afterCommitStarted = new Promise<void>((resolve) => (started = resolve));
    const handled: string[] = [];
    // The first takes twice the lease, as a saga's commands sent over a slow link might.
    const processor = afterCommitting('slow_after_commit', 1, async (eventIds) => {
      handled.push(...eventIds);
      if (handled.length > 1) return;
      started();
      await sleep(3_000);
    });
    const run = (holder: string, deadlineInMs: number) => runFeedProcessor(processor, { db, holder, leaseTtlMs: 1_500, deadline: Date.now() + deadlineInMs, concurrency: 1 });

    const holder = run('holder', 10_000);
    await afterCommitStarted;
    await sleep(2_000);
    const other = await run('other', 500);
    const held = await holder;

    expect(other).toMatchObject({ items: 0, failures: [] });
    expect(held).toMatchObject({ failures: [], caughtUp: true });
    expect(handled).toHaveLength(held.items);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 0, lastError: null, lagItems: 0 });
  });

  it('given a batch that outlived its lease, when its afterCommit starts, then the lease is renewed before another instance can take the partition', async () => {
    const { db } = await withOneEvent('outlived');
    const LEASE_MS = 900;
    let takenBy: string | undefined;
    const processor = afterCommitting(
      'outlived_then_after_commit',
      1,
      async () => {
        await sleep(100);
        takenBy = (await acquirePartitionLease(db, { group: 'outlived_then_after_commit', partitions: 1, holder: 'other', ttlMs: LEASE_MS }))?.holder;
        await sleep(LEASE_MS);
      },
      { handleMs: LEASE_MS + 100, streamType: 'outlived' },
    );

    const run = await runFeedProcessor(processor, { db, holder: 'holder', leaseTtlMs: LEASE_MS, deadline: Date.now() + 5_000, concurrency: 1 });

    expect(takenBy).toBeUndefined();
    expect(run).toMatchObject({ failures: [], caughtUp: true });
  });

  it('given a renewal that waits on a lock while afterCommit runs, then no other renewal starts behind it: they never take the pool', async () => {
    const { db } = await withOneEvent('renewing');
    const renewals = { running: 0, most: 0 };
    // Counts the lease renewals under way at once.
    const counting: Db = {
      ...db,
      async query(text, params, options) {
        const renewal = text.includes('UPDATE partition_leases AS l') && text.includes('SET expires_at');
        if (renewal) renewals.most = Math.max(renewals.most, ++renewals.running);
        try {
          return await db.query(text, params, options);
        } finally {
          if (renewal) renewals.running -= 1;
        }
      },
    };
    // A third of the lease is 100 ms; the lease row is locked elsewhere for 800 ms of afterCommit's second.
    const processor = afterCommitting('renewal_behind_a_lock', 1, async () => {
      await db.transaction(async (tx) => {
        await tx.query("SELECT FROM partition_leases WHERE lease_group = 'renewal_behind_a_lock' FOR UPDATE");
        await sleep(800);
      });
      await sleep(200);
    }, { streamType: 'renewing' });

    const run = await runFeedProcessor(processor, { db: counting, holder: 'holder', leaseTtlMs: 300, deadline: Date.now() + 5_000, concurrency: 1 });

    expect(run.caughtUp).toBe(true);
    expect(renewals.most).toBe(1);
  });
});
