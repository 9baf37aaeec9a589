import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import {
  acquirePartitionLease,
  BatchItemError,
  catchUpLocked,
  eventFeedSource,
  getProcessorStatus,
  LeaseRanOutError,
  ProcessorDefinitionError,
  registerProcessor,
  releasePartitionLease,
  resumeProcessors,
  runFeedProcessor,
  type ExternalHandler,
  type FeedProcessor,
} from '../../core/processing';
import { recordLeaseRanOut } from '../../core/processing/failureRecords';
import { expireLeases } from '../support/expireLeases';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

/** A caught-up one-partition processor of two events of its own, whose policy gives up at the third failure in a row. */
async function caughtUpProcessor(name: string, maxAttempts: number): Promise<FeedProcessor<RecordedEvent>> {
  const store = createEventStore(db());
  const { events } = await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5)] });
  await untilFeedHorizonPasses(db());
  const wanted = new Set(events.map((event) => event.eventId));
  const processor: FeedProcessor<RecordedEvent> = {
    name,
    partitions: 1,
    batchSize: 10,
    source: eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (wanted.has(event.eventId) ? event.streamId : null) }),
    failurePolicy: { maxAttempts, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    handler: { mode: 'transactional', handle: () => Promise.resolve() },
  };
  expect((await run(processor, 'first')).caughtUp).toBe(true);
  return processor;
}

const run = (processor: FeedProcessor<RecordedEvent>, holder: string) =>
  runFeedProcessor(processor, { db: db(), holder, leaseTtlMs: 60_000, deadline: Date.now() + 30_000, concurrency: 1 });

/** An instance takes the partition and dies holding it; its lease runs out. */
async function holderDies(processor: FeedProcessor<RecordedEvent>, holder: string): Promise<void> {
  expect(await acquirePartitionLease(db(), { group: processor.name, partitions: 1, holder, ttlMs: 60_000 })).not.toBeNull();
  await expireLeases(db(), processor.name);
}

describe('a lost holder on a caught-up partition', () => {
  it('is counted by the run that takes over, and that run\'s batch, finding nothing new, ends the streak', async () => {
    const processor = await caughtUpProcessor('idle_losses', 3);
    for (const round of [1, 2, 3]) {
      await holderDies(processor, `died-${round}`);
      const taken = await run(processor, `successor-${round}`);
      expect(taken.failures.map((failure) => failure.error.message)).toEqual([expect.stringContaining(`the lease of died-${round} ran out`) as unknown]);
      const [partition] = await getProcessorStatus(db(), processor);
      expect(partition).toMatchObject({ state: 'running', attempts: 0, lastError: null, nextAttemptAt: null });
    }
  });

  it('is tried again once even under a policy of one attempt', async () => {
    const processor = await caughtUpProcessor('one_attempt', 1);
    await holderDies(processor, 'died');
    const taken = await run(processor, 'successor');
    expect(taken.failures).toHaveLength(1);
    expect(taken.caughtUp).toBe(true);
    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 0 });
  });
});

describe('a caught-up partition failed by holders lost in a row', () => {
  it('once resumed, shows no error after its next batch, though that batch finds nothing new', async () => {
    const processor = await caughtUpProcessor('resumed_idle', 2);
    // The first successor counts the loss before it and dies holding the partition too; the second counts
    // that loss, the second in a row, which fails the partition, and gives the partition back.
    await holderDies(processor, 'died');
    const first = await acquirePartitionLease(db(), { group: processor.name, partitions: 1, holder: 'first-successor', ttlMs: 60_000 });
    if (!first) throw new Error('the partition is held');
    await recordLeaseRanOut(db(), first, new LeaseRanOutError('died'), processor.failurePolicy);
    await expireLeases(db(), processor.name);
    const second = await acquirePartitionLease(db(), { group: processor.name, partitions: 1, holder: 'second-successor', ttlMs: 60_000 });
    if (!second) throw new Error('the partition is held');
    await recordLeaseRanOut(db(), second, new LeaseRanOutError('first-successor'), processor.failurePolicy);
    await releasePartitionLease(db(), second);
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ state: 'failed' });

    expect(await resumeProcessors(db(), [processor.name])).toHaveLength(1);
    const resumed = await run(processor, 'after-resume');

    expect(resumed.caughtUp).toBe(true);
    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition).toMatchObject({ state: 'running', attempts: 0, lastError: null, nextAttemptAt: null });
  });
});

describe('an external processor whose holders keep dying in a batch', () => {
  it('waits out the backoff its second loss in a row records before it runs the batch again', async () => {
    const store = createEventStore(db());
    const { events } = await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(5)] });
    await untilFeedHorizonPasses(db());
    const wanted = new Set(events.map((event) => event.eventId));
    const processorWith = (handle: ExternalHandler<RecordedEvent>['handle']): FeedProcessor<RecordedEvent> => ({
      name: 'external_losses',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (wanted.has(event.eventId) ? event.streamId : null) }),
      failurePolicy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler: { mode: 'external', handle },
    });
    await holderDies(processorWith(() => Promise.resolve({ done: 0 })), 'died-first');

    // The successor is tried at once, and dies in the batch too: it never returns, its lease runs out.
    const inBatch = deferred();
    const neverReturns = deferred();
    const dying = run(processorWith(async (items) => {
      inBatch.resolve();
      await neverReturns.promise;
      return { done: items.length };
    }), 'died-second');
    try {
      await inBatch.promise;
      await expireLeases(db(), 'external_losses');

      let batches = 0;
      const third = await run(processorWith((items) => {
        batches += 1;
        return Promise.resolve({ done: items.length });
      }), 'third');

      expect(third.failures.map((failure) => failure.error.message)).toEqual([expect.stringContaining('the lease of died-second ran out') as unknown]);
      expect(batches, 'the batch waits out the backoff').toBe(0);
      const [partition] = await getProcessorStatus(db(), processorWith(() => Promise.resolve({ done: 0 })));
      expect(partition).toMatchObject({ state: 'running', attempts: 2 });
      expect(partition?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now());
    } finally {
      neverReturns.resolve();
      // Taken over meanwhile, the stalled holder stores nothing.
      expect((await dying).items).toBe(0);
    }
  });
});

/** A one-partition processor of one event of its own, whose handler refuses it as `itemId`. */
async function refusingProcessor(name: string, itemId: (eventId: string) => string): Promise<{ processor: FeedProcessor<RecordedEvent>; eventId: string }> {
  const { events } = await createEventStore(db()).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db());
  const eventId = events[0]?.eventId ?? '';
  const processor: FeedProcessor<RecordedEvent> = {
    name,
    partitions: 1,
    batchSize: 10,
    source: eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (event.eventId === eventId ? event.streamId : null) }),
    failurePolicy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    handler: { mode: 'transactional', handle: () => Promise.reject(new BatchItemError('cannot apply it', itemId(eventId), new Error('boom'), 'failure_policy')) },
  };
  return { processor, eventId };
}

describe('a handler failure streak', () => {
  it('ended by a lost holder that fails the partition still names the failing item', async () => {
    const { processor, eventId } = await refusingProcessor('streak_then_lost', (id) => id);
    for (const round of [1, 2]) {
      await run(processor, `failing-${round}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ attempts: 2, failedItemId: eventId });

    await holderDies(processor, 'died');
    await run(processor, 'successor');

    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition).toMatchObject({ state: 'failed', attempts: 3, failedItemId: eventId, lastError: expect.stringContaining('the lease of died ran out') as unknown });
  });

  it('of an item whose id holds a NUL is counted, the NUL replaced, rather than failing the count itself', async () => {
    const { processor } = await refusingProcessor('nul_item_id', () => 'item\u0000id');

    const failed = await run(processor, 'counting');

    expect(failed.failures.map((failure) => failure.error.message)).toEqual(['cannot apply it']);
    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition).toMatchObject({ attempts: 1, failedItemId: 'item\uFFFDid', lastError: 'Error: boom' });
  });
});

describe('catching a partition up inside a transaction', () => {
  it('refuses a deadline that is no number, which every comparison with the clock would take for none, before it runs a batch', async () => {
    const { processor } = await refusingProcessor('nan_deadline', (id) => id);
    await registerProcessor(db(), processor.name, processor.partitions);
    if (processor.handler.mode !== 'transactional') throw new Error('a transactional processor');
    const { handler } = processor;

    const caughtUp = db().transaction((tx) => catchUpLocked(tx, processor, handler, 0, { maxBatches: 10, deadline: Date.now() + Number(undefined) }));

    await expect(caughtUp).rejects.toThrow(ProcessorDefinitionError);
    await expect(caughtUp).rejects.toThrow(/deadline must be a time in epoch ms/);
  });

  it('refuses a partition the processor does not have, or a batch count that is no whole number, before it runs a batch', async () => {
    const { processor } = await refusingProcessor('bad_partition', (id) => id);
    await registerProcessor(db(), processor.name, processor.partitions);
    if (processor.handler.mode !== 'transactional') throw new Error('a transactional processor');
    const { handler } = processor;

    for (const [partition, maxBatches] of [[0.5, 10], [-1, 10], [processor.partitions, 10], [0, Number.NaN], [0, '10']] as const) {
      const caughtUp = db().transaction((tx) => catchUpLocked(tx, processor, handler, partition, { maxBatches: maxBatches as number, deadline: Date.now() + 5_000 }));
      await expect(caughtUp, JSON.stringify([partition, maxBatches])).rejects.toThrow(ProcessorDefinitionError);
    }
  });
});
