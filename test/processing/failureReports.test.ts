import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor, type HandlerFailure, type TransactionalHandler } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { streamIdInPartition } from '../support/streamInPartition';
import { withUnhandledRejections } from '../support/unhandledRejections';

const testDatabase = usePooledTestDatabase(4);

const PARTITIONS = 2;

/** A new stream in each of the two partitions, with one event each, visible to the feed. */
async function givenAStreamInEachPartition(db: Db): Promise<[string, string]> {
  const streams: [string, string] = [await streamIdInPartition(db, 0, PARTITIONS), await streamIdInPartition(db, 1, PARTITIONS)];
  const store = createEventStore(db);
  for (const streamId of streams) await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db);
  return streams;
}

function twoPartitionProcessor(name: string, handle: TransactionalHandler<RecordedEvent, void>['handle']): FeedProcessor<RecordedEvent, void> {
  return {
    name,
    partitions: PARTITIONS,
    batchSize: 10,
    source: eventFeedSource({ upcaster: NO_UPCASTING }),
    failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    handler: { mode: 'transactional', handle },
  };
}

const ruleBroken = (events: readonly RecordedEvent[]) => new BatchItemError('the event breaks a rule of the read model', events[0]?.eventId ?? null, new Error('rule broken'));

describe('the failures a run counted', () => {
  it('given one partition’s handler failure and another partition’s error that ends the run, the failure is still told to the caller', async () => {
    const db = testDatabase();
    await givenAStreamInEachPartition(db);
    const failing = twoPartitionProcessor('failing_apart', (events, { partition }) => (partition === 0 ? Promise.reject(ruleBroken(events)) : Promise.resolve()));
    // What runs after a batch committed is not the batch's failure: it ends the run.
    const processor = { ...failing, handler: { ...failing.handler, afterCommit: () => Promise.reject(new Error('the handler is broken for everything')) } };
    const told: HandlerFailure[] = [];

    const run = runFeedProcessor(processor, { db, holder: 'reporting', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: PARTITIONS, onFailure: (failure) => told.push(failure) });

    await expect(run).rejects.toThrow('the handler is broken for everything');
    const [counted] = (await getProcessorStatus(db, processor)).filter((partition) => partition.attempts > 0);
    expect(counted).toMatchObject({ partition: 0, attempts: 1 });
    expect(told).toEqual([expect.objectContaining({ processor: 'failing_apart', partition: 0, attempts: 1, state: 'running' })]);
    expect(told[0]?.error.message).toBe('the event breaks a rule of the read model');
  });

  it('given a handler that throws a plain error on one partition’s event (a bug, not a BatchItemError), the failure is counted there under the policy and the other partition is handled', async () => {
    const db = testDatabase();
    const [poisoned, healthy] = await givenAStreamInEachPartition(db);
    const handled: string[] = [];
    const processor = twoPartitionProcessor('plain_error', (events) => {
      if (events.some((event) => event.streamId === poisoned)) throw new TypeError("Cannot read properties of undefined (reading 'amount')");
      handled.push(...events.map((event) => event.streamId));
      return Promise.resolve();
    });
    const runOnce = (holder: string) => runFeedProcessor(processor, { db, holder, leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });

    const run = await runOnce('first');

    expect(handled).toContain(healthy);
    expect(handled).not.toContain(poisoned);
    expect(run.failures).toEqual([expect.objectContaining({ partition: 0, attempts: 1, state: 'running' })]);
    const [status] = await getProcessorStatus(db, processor);
    expect(status).toMatchObject({ partition: 0, attempts: 1, failedItemId: null });
    expect(status?.lastError).toContain("Cannot read properties of undefined (reading 'amount')");

    // Its policy gives up after three: the partition is marked failed, visibly.
    for (let attempt = 2; attempt <= 3; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      await runOnce(`attempt-${attempt}`);
    }
    expect((await getProcessorStatus(db, processor))[0]).toMatchObject({ state: 'failed', attempts: 3 });
  });

  it('given an onFailure that throws, the run goes on: the other partition is drained and the failure stays recorded', async () => {
    const db = testDatabase();
    const [poisoned, healthy] = await givenAStreamInEachPartition(db);
    const handled: string[] = [];
    const processor = twoPartitionProcessor('reporting_badly', (events) => {
      if (events.some((event) => event.streamId === poisoned)) return Promise.reject(ruleBroken(events));
      handled.push(...events.map((event) => event.streamId));
      return Promise.resolve();
    });

    const run = await runFeedProcessor(processor, {
      db,
      holder: 'reporting_badly',
      leaseTtlMs: 30_000,
      deadline: Date.now() + 5_000,
      concurrency: 1,
      onFailure: () => {
        throw new Error('the log is full');
      },
    });

    expect(handled).toContain(healthy);
    expect(run.failures).toEqual([expect.objectContaining({ partition: 0, attempts: 1 })]);
    // The failed batch gave its lease back itself: no other instance took it.
    expect(run.leaseLost).toEqual([]);
    expect((await getProcessorStatus(db, processor))[0]).toMatchObject({ attempts: 1 });
  });

  it('given an async onFailure that rejects (an alert sender whose sink is down), nothing escapes the run as an unhandled rejection', async () => {
    const db = testDatabase();
    const [poisoned] = await givenAStreamInEachPartition(db);
    const processor = twoPartitionProcessor('reporting_async', (events) =>
      events.some((event) => event.streamId === poisoned) ? Promise.reject(ruleBroken(events)) : Promise.resolve(),
    );
    const { result: run, escaped } = await withUnhandledRejections(() =>
      runFeedProcessor(processor, {
        db,
        holder: 'reporting_async',
        leaseTtlMs: 30_000,
        deadline: Date.now() + 5_000,
        concurrency: 1,
        onFailure: async () => {
          await Promise.resolve();
          throw new Error('the alert sink is down');
        },
      }),
    );

    expect(run.failures).toEqual([expect.objectContaining({ partition: 0, attempts: 1 })]);
    expect(escaped).toEqual([]);
  });

  it('given an onInterrupted that throws, or rejects later, the run goes on: the interrupted batch is tried again and its events handled', async () => {
    const db = testDatabase();
    const streams = await givenAStreamInEachPartition(db);
    const hooks = {
      throwing: () => {
        throw new Error('the log is full');
      },
      rejecting: async () => {
        await Promise.resolve();
        throw new Error('the alert sink is down');
      },
    };
    for (const [kind, hook] of Object.entries(hooks)) {
      const sent: string[] = [];
      let interruptions = 0;
      const processor: FeedProcessor<RecordedEvent> = {
        name: `interrupted_reporting_${kind}`,
        partitions: PARTITIONS,
        batchSize: 10,
        source: eventFeedSource({ upcaster: NO_UPCASTING }),
        failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
        handler: {
          mode: 'external',
          handle: (events) => {
            if (interruptions++ === 0) return Promise.resolve({ done: 0, error: new Error('NATS is away') });
            sent.push(...events.map((event) => event.streamId));
            return Promise.resolve({ done: events.length });
          },
        },
      };
      const { result: run, escaped } = await withUnhandledRejections(() =>
        runFeedProcessor(processor, {
          db,
          holder: 'interrupted_reporting',
          leaseTtlMs: 30_000,
          deadline: Date.now() + 5_000,
          concurrency: 1,
          interruptionBackoff: { baseMs: 10, maxMs: 20 },
          onInterrupted: hook,
        }),
      );

      expect(run.caughtUp).toBe(true);
      expect(interruptions).toBeGreaterThan(PARTITIONS);
      expect(sent.filter((streamId) => streams.includes(streamId)).sort()).toEqual([...streams].sort());
      expect(escaped).toEqual([]);
    }
  });
});

describe('the error a failed partition records', () => {
  it('given a handler refusing bad data with no underlying error (a cause of null), the partition’s last error is the handler’s own message', async () => {
    const db = testDatabase();
    const { source, events } = await newStreamSource(db, [opened(), deposited(-5)]);
    const processor = onePartitionProcessor('null_cause', source, {
      mode: 'transactional',
      handle: async (items: readonly RecordedEvent[]) => {
        const bad = items.find((event) => event.type === 'MoneyDeposited');
        if (bad) throw new BatchItemError('a deposit must be positive', bad.eventId, null);
        await Promise.resolve();
      },
    });

    await runFeedProcessor(processor, { db, holder: 'a', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });

    const [partition] = await getProcessorStatus(db, processor);
    expect(partition).toMatchObject({ failedItemId: events[1]?.eventId, lastError: 'BatchItemError: a deposit must be positive' });
  });
});
