import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eventFeedSource, getProcessorStatus, ProcessorDefinitionError, resumeProcessors, runFeedProcessor, stopProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

const cases = [
  { name: 'transactional', mode: 'transactional', interrupted: false, kept: 1 },
  { name: 'external', mode: 'external', interrupted: false, kept: 1 },
  // NATS away, say: nothing done, which the drain would try again after a pause.
  { name: 'external, interrupted', mode: 'external', interrupted: true, kept: 0 },
] as const;

describe('a processor stopped while a batch of its drain is out', () => {
  it.each(cases)('$name: keeps what that batch did, and its partition takes no batch after it', async ({ name, mode, interrupted, kept }) => {
    const processorName = `stopped_${name.replace(/\W+/g, '_')}`;
    const { source, events } = await newStreamSource(db(), [opened(), deposited(1), deposited(2), deposited(3)]);
    const handled: string[] = [];
    // The first batch is out when the processor is stopped (a retired build, an operator), by another transaction.
    const handle = async (items: readonly RecordedEvent[]) => {
      handled.push(...items.map((item) => item.eventId));
      if (handled.length === 1) await db().transaction((tx) => stopProcessor(tx, processorName));
    };
    const processor: FeedProcessor<RecordedEvent> = {
      name: processorName,
      partitions: 1,
      batchSize: 1,
      source,
      failurePolicy: { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 1_000 },
      handler:
        mode === 'transactional'
          ? { mode, handle: (items) => handle(items) }
          : {
              mode,
              handle: async (items) => {
                await handle(items);
                return interrupted ? { done: 0, error: new Error('NATS away') } : { done: items.length };
              },
            },
    };

    const run = await runFeedProcessor(processor, {
      db: db(),
      holder: 'stopping',
      leaseTtlMs: 30_000,
      deadline: Date.now() + 3_000,
      concurrency: 1,
      interruptionBackoff: { baseMs: 20, maxMs: 40 },
    });

    expect(handled).toEqual([events[0]?.eventId]);
    expect(run.items).toBe(kept);
    expect(run.stoppedByDeadline).toBe(false);
    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition?.itemsProcessed).toBe(kept);
  });
});

describe('a processor stopped during its last batch, with an event committed behind that batch', () => {
  it.each([
    ['before the deadline', 10_000],
    ['which ends past the deadline', 1_000],
  ])('%s: is neither drained again nor said to be stopped by the deadline', async (_case, deadlineInMs) => {
    const streamType = `stopped-behind-${deadlineInMs}`;
    const name = streamType.replaceAll('-', '_');
    const store = createEventStore(db());
    await store.appendToStream({ streamId: uniqueStreamId(), streamType, expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db());
    const deadline = Date.now() + deadlineInMs;
    let batches = 0;
    const processor: FeedProcessor<RecordedEvent> = {
      name,
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [streamType] }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
      handler: {
        mode: 'transactional',
        handle: async () => {
          batches += 1;
          // Retired meanwhile (a projection's build replaced), while the feed goes on.
          await stopProcessor(db(), name);
          await store.appendToStream({ streamId: uniqueStreamId(), streamType, expectedVersion: 'no_stream', events: [opened()] });
          await sleep(Math.max(0, Math.min(deadline - Date.now() + 100, 1_500)));
        },
      },
    };

    const run = await runFeedProcessor(processor, { db: db(), holder: 'stopped-behind', leaseTtlMs: 30_000, deadline, concurrency: 1 });

    expect({ batches, items: run.items, caughtUp: run.caughtUp, stoppedByDeadline: run.stoppedByDeadline }).toEqual({ batches: 1, items: 1, caughtUp: true, stoppedByDeadline: false });
  });
});

describe('a batch that fails after its processor was stopped by another transaction', () => {
  it.each(['transactional', 'external'] as const)('%s: is not counted, told, waited for, nor shown on the stopped processor, which will never retry it', async (mode) => {
    const name = `stopped_mid_${mode}`;
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    const stop = () => db().transaction((tx) => stopProcessor(tx, name));
    const processor: FeedProcessor<RecordedEvent> = {
      name,
      partitions: 1,
      batchSize: 10,
      source,
      failurePolicy: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler:
        mode === 'transactional'
          ? {
              mode,
              handle: async (items) => {
                await stop();
                throw new BatchItemError('the event breaks a rule', items[0]?.eventId ?? null, new Error('rule broken'));
              },
            }
          : {
              mode,
              handle: async () => {
                await stop();
                return { done: 0, error: new Error('NATS away') };
              },
            },
    };
    const told: unknown[] = [];

    const run = await runFeedProcessor(processor, {
      db: db(),
      holder: 'stopping',
      leaseTtlMs: 30_000,
      deadline: Date.now() + 10_000,
      concurrency: 1,
      // A retry announced would be waited for: the run would take these 2 s more.
      interruptionBackoff: { baseMs: 2_000, maxMs: 2_000 },
      onFailure: (failure) => told.push(failure),
      onInterrupted: (interruption) => told.push(interruption),
    });

    const [partition] = await getProcessorStatus(db(), processor);
    expect({ failures: run.failures, told, lastError: run.lastError, stoppedByDeadline: run.stoppedByDeadline }).toEqual({ failures: [], told: [], lastError: undefined, stoppedByDeadline: false });
    expect(partition).toMatchObject({ stopped: true, state: 'running', attempts: 0, lastError: null, failedItemId: null, nextAttemptAt: null });
  });
});

describe('a stopped processor with a failed partition', () => {
  it('is not resumed, nor said to be, and its status says it is stopped', async () => {
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    let failing = true;
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'stopped_then_resumed',
      partitions: 1,
      batchSize: 10,
      source,
      failurePolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      handler: {
        mode: 'transactional',
        handle: (items) => (failing ? Promise.reject(new BatchItemError('bad data', items[0]?.eventId ?? null, new Error('bad data'))) : Promise.resolve()),
      },
    };
    const runOnce = () => runFeedProcessor(processor, { db: db(), holder: 'h', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
    await runOnce();
    expect((await getProcessorStatus(db(), processor))[0]?.state).toBe('failed');
    expect(await db().transaction((tx) => stopProcessor(tx, processor.name))).toBe(true);

    failing = false;
    const resumed = await resumeProcessors(db(), [processor.name]);
    const run = await runOnce();
    const [status] = await getProcessorStatus(db(), processor);

    // The partition takes no batch: the processor is stopped for good.
    expect(run.items).toBe(0);
    expect(status?.lagItems).toBeGreaterThan(0);
    expect(resumed).toEqual([]);
    expect(status).toMatchObject({ state: 'failed', stopped: true });
  });
});

describe('stopping a processor no run has registered', () => {
  it('given a name no run has registered (misspelt, say), when it is stopped, then it answers false and stops nothing: a run of that name runs', async () => {
    const { source } = await newStreamSource(db(), [opened()]);
    const handled: string[] = [];
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'never_registered_before_its_stop',
      partitions: 1,
      batchSize: 10,
      source,
      failurePolicy: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      handler: { mode: 'transactional', handle: (items) => Promise.resolve(void handled.push(...items.map((item) => item.eventId))) },
    };

    expect(await db().transaction((tx) => stopProcessor(tx, processor.name))).toBe(false);

    const run = await runFeedProcessor(processor, { db: db(), holder: 'h', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
    expect(run.items).toBe(1);
    expect(handled).toHaveLength(1);
  });

  it('given a list of names with a hole, when they are resumed, then it is refused as no list of names, not as an unknown processor named null', async () => {
    // eslint-disable-next-line no-sparse-arrays -- the hole is what is checked
    const names = [, 'a'] as unknown as string[];

    await expect(resumeProcessors(db(), names)).rejects.toThrow(new ProcessorDefinitionError('resumeProcessors needs a list of processor names'));
  });
});
