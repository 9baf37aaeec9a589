import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eventFeedSource, getProcessorStatus, runFeedProcessor, stopProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, opened, sleep } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';

const db = usePooledTestDatabase(4);

// A batch that outlasts the run's time by a second: margins that hold on a loaded two-core runner.
const RUN_MS = 2_000;
const SLOW_BATCH_MS = 3_000;

/**
 * A two-partition processor of the whole feed whose batches fail on one stream, and take
 * SLOW_BATCH_MS on the streams in `slow`, calling `slowBatchStarted` as such a batch begins.
 */
function twoPartitionProcessor(name: string, failing: ReadonlySet<string>, slow: ReadonlySet<string>, slowBatchStarted: () => void = () => undefined): FeedProcessor<RecordedEvent> {
  return {
    name,
    partitions: 2,
    batchSize: 100,
    source: eventFeedSource({ upcaster: NO_UPCASTING }),
    // A backoff no spec here outlasts.
    failurePolicy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    handler: {
      mode: 'transactional',
      handle: async (events) => {
        const poisoned = events.find((event) => failing.has(event.streamId));
        if (poisoned) throw new BatchItemError('cannot handle it', poisoned.eventId, new Error('boom'));
        if (events.some((event) => slow.has(event.streamId))) {
          slowBatchStarted();
          await sleep(SLOW_BATCH_MS);
        }
      },
    },
  };
}

const runOnce = (processor: FeedProcessor<RecordedEvent>, runMs: number) =>
  runFeedProcessor(processor, { db: db(), holder: `holder-${crypto.randomUUID()}`, leaseTtlMs: 30_000, deadline: Date.now() + runMs, concurrency: 1 });

/** A new stream in each of the two partitions, with an event each, past the feed's horizon. */
async function oneStreamInEachPartition(): Promise<[string, string]> {
  const store = createEventStore(db());
  const streams = await Promise.all([streamIdInPartition(db(), 0, 2), streamIdInPartition(db(), 1, 2)]);
  for (const streamId of streams) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db());
  return streams;
}

describe('a run that ends past its deadline', () => {
  /**
   * Given a processor whose partition `failingPartition` failed and waits out its backoff,
   * when a slow batch's event arrives in the other partition, then a run whose deadline
   * passes in that batch; the run and both partitions' status.
   */
  async function runPastAWaitingPartition(name: string, failingPartition: 0 | 1) {
    const store = createEventStore(db());
    const [failing, slow] = await Promise.all([streamIdInPartition(db(), failingPartition, 2), streamIdInPartition(db(), 1 - failingPartition, 2)]);
    const processor = twoPartitionProcessor(name, new Set([failing]), new Set([slow]));
    await store.appendToStream({ streamId: failing, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    await runOnce(processor, 30_000);

    await store.appendToStream({ streamId: slow, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    const run = await runOnce(processor, RUN_MS);
    const status = await getProcessorStatus(db(), processor);
    return { run, waiting: status[failingPartition], caughtUp: status[1 - failingPartition] };
  }

  it('is not stopped by the deadline when its slow batch caught up and the other partition only waits out a failure\'s backoff', async () => {
    const { run, waiting, caughtUp } = await runPastAWaitingPartition('deadline_waiting', 0);
    expect(run.partitions.sort()).toEqual([0, 1]);
    expect(waiting?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now());
    expect(waiting?.waitingOutBackoff).toBe(true);
    expect(caughtUp).toMatchObject({ caughtUp: true, lagItems: 0, waitingOutBackoff: false });
    // The waiting partition was left at once: the one drained caught up.
    expect(run).toMatchObject({ heldBack: [0], caughtUp: true, stoppedByDeadline: false });
  });

  it('is not stopped by the deadline when the only partition it never got to waits out a failure\'s backoff', async () => {
    const { run, waiting, caughtUp } = await runPastAWaitingPartition('deadline_unreached_waiting', 1);
    expect(caughtUp).toMatchObject({ caughtUp: true, lagItems: 0 });
    expect(waiting?.nextAttemptAt?.getTime()).toBeGreaterThan(Date.now());
    expect(run).toMatchObject({ partitions: [0], stoppedByDeadline: false });
  });

  it('is not stopped by the deadline when its processor was stopped during its slow batch, whatever partition it never got to', async () => {
    const [slow] = await oneStreamInEachPartition();
    const inSlowBatch = deferred();
    const processor = twoPartitionProcessor('deadline_stopped', new Set(), new Set([slow]), inSlowBatch.resolve);

    const running = runOnce(processor, RUN_MS);
    await inSlowBatch.promise;
    await db().transaction((tx) => stopProcessor(tx, processor.name));
    const run = await running;

    expect(run).toMatchObject({ partitions: [0], stoppedByDeadline: false });
  });

  it('is stopped by the deadline when it never got to a free partition with work', async () => {
    const [first] = await oneStreamInEachPartition();
    const processor = twoPartitionProcessor('deadline_unreached', new Set(), new Set([first]));

    const run = await runOnce(processor, RUN_MS);

    const [, unreached] = await getProcessorStatus(db(), processor);
    expect(run).toMatchObject({ partitions: [0], caughtUp: true, stoppedByDeadline: true });
    expect(unreached?.lagItems).toBeGreaterThan(0);
  });
});
