import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

/** A one-partition processor of every event whose batch gives its event ids to `afterCommit`. */
function afterCommitting(name: string, batchSize: number, afterCommit: (eventIds: readonly string[]) => Promise<void>): FeedProcessor<RecordedEvent, readonly string[]> {
  return {
    name,
    partitions: 1,
    batchSize,
    source: eventFeedSource({ upcaster: NO_UPCASTING }),
    failurePolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20 },
    handler: { mode: 'transactional', handle: (batch) => Promise.resolve(batch.map((event) => event.eventId)), afterCommit },
  };
}

describe('work after a batch’s commit', () => {
  it('given an afterCommit that fails on an item, the committed batch stays applied and its partition is not counted as failing; the run says why', async () => {
    const db = testDatabase();
    const { events } = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const applied: string[] = [];
    const processor = afterCommitting('failing_after_commit', 10, (eventIds) => {
      applied.push(...eventIds);
      return Promise.reject(new BatchItemError('dispatch failed', eventIds[0] ?? null, new Error('NATS down'), 'failure_policy'));
    });

    const run = runFeedProcessor(processor, { db, holder: 'after-commit', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
    await expect(run).rejects.toThrow(/dispatch failed/);

    expect(applied).toEqual([events[0]?.eventId]);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 0, lastError: null, lagItems: 0 });
  });

  it('given an afterCommit that outlasts the lease, when another instance runs meanwhile, then it does not take the partition over: the holder is not counted dead', async () => {
    const db = testDatabase();
    await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    let started!: () => void;
    const afterCommitStarted = new Promise<void>((resolve) => (started = resolve));
    const handled: string[] = [];
    // The first takes twice the lease, as a saga's commands sent over a slow link might.
    const processor = afterCommitting('slow_after_commit', 1, async (eventIds) => {
      handled.push(...eventIds);
      if (handled.length > 1) return;
      started();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    });
    const run = (holder: string, deadlineInMs: number) => runFeedProcessor(processor, { db, holder, leaseTtlMs: 1_500, deadline: Date.now() + deadlineInMs, concurrency: 1 });

    const holder = run('holder', 10_000);
    await afterCommitStarted;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const other = await run('other', 500);
    const held = await holder;

    expect(other).toMatchObject({ items: 0, failures: [] });
    expect(held).toMatchObject({ failures: [], caughtUp: true });
    expect(handled).toHaveLength(held.items);
    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 0, lastError: null, lagItems: 0 });
  });
});
