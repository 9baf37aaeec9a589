import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { getProcessorStatus, runFeedProcessor, type ExternalHandler, type FeedProcessor } from '../../core/processing';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

// One item per step; past the deadline it starts no step, as the publisher starts no round.
function inSteps(handled: number[], stepMs: number): ExternalHandler<RecordedEvent>['handle'] {
  return async (items, { deadline }) => {
    let done = 0;
    for (const item of items) {
      if (done > 0 && Date.now() >= deadline) break;
      handled.push(item.version);
      done += 1;
      await new Promise((resolve) => setTimeout(resolve, stepMs));
    }
    return { done };
  };
}

/** inSteps, but refusing (with nothing done) each call `refuses` picks, counted from 1; `calls` says how many came. */
function refusingOn(refuses: (call: number) => boolean, stepMs: number): { handle: ExternalHandler<RecordedEvent>['handle']; calls: () => number } {
  const steps = inSteps([], stepMs);
  let calls = 0;
  return {
    handle: (items, context) => (refuses(++calls) ? Promise.resolve({ done: 0, error: new Error(`refused call ${String(calls)}`) }) : steps(items, context)),
    calls: () => calls,
  };
}

function stepwiseProcessor(name: string, source: FeedProcessor<RecordedEvent>['source'], handle: ExternalHandler<RecordedEvent>['handle']): FeedProcessor<RecordedEvent> {
  return { name, partitions: 1, batchSize: 10, source, failurePolicy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 }, handler: { mode: 'external', handle } };
}

describe('an external batch that stops short at the deadline', () => {
  it('given a handler that handles its batch in steps and stops when the deadline comes, stores how far it got without counting an interruption, and the next run goes on from there', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 11 }, (_, index) => deposited(index + 1))]);
    const handled: number[] = [];
    const processor = stepwiseProcessor('stops-short', source, inSteps(handled, 150));
    const run = (deadlineInMs: number) => runFeedProcessor(processor, { db, holder: 'deadline-spec', leaseTtlMs: 5_000, deadline: Date.now() + deadlineInMs, concurrency: 1 });

    // Room for the batch to start on a loaded machine; its twelve steps take 1.8 s.
    const first = await run(1_000);
    expect(first).toMatchObject({ caughtUp: false, stoppedByDeadline: true, failures: [], lastError: undefined });
    expect(first.items).toBeGreaterThan(0);
    expect(first.items).toBeLessThan(12);
    const [stopped] = await getProcessorStatus(db, processor);
    expect(stopped).toMatchObject({ state: 'running', lastError: null });

    const second = await run(10_000);
    expect(second).toMatchObject({ caughtUp: true, failures: [] });
    expect(first.items + second.items).toBe(12);
    expect(handled).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
  });

  it('given a batch whose steps outlast its lease and another instance trying all along, when both run, then the holder stops short within its lease and goes on: each item is handled once, and no holder is lost', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 11 }, (_, index) => deposited(index + 1))]);
    const handled: number[] = [];
    // Ten steps of 400 ms against a lease of 2 s: a whole batch would take twice the lease.
    const processor = stepwiseProcessor('outlasts-lease', source, inSteps(handled, 400));
    const run = (holder: string, deadlineInMs: number) => runFeedProcessor(processor, { db, holder, leaseTtlMs: 2_000, deadline: Date.now() + deadlineInMs, concurrency: 1 });

    const holder = run('holder', 20_000);
    // The others start once the holder is at work: started at once, one of them could lease the partition first.
    while (handled.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const holding = { over: false };
    void holder.finally(() => (holding.over = true));
    const others = [];
    while (!holding.over) {
      others.push(await run('other', 300));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const held = await holder;

    expect(held).toMatchObject({ caughtUp: true, failures: [], items: 12 });
    expect(others.reduce((sum, other) => sum + other.items, 0)).toBe(0);
    expect(handled).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
    const [status] = await getProcessorStatus(db, processor);
    expect(status).toMatchObject({ state: 'running', lastError: null, attempts: 0, caughtUp: true });
  });

  it('given a destination that refuses every batch until the deadline, the run is not stopped by the deadline: it was waiting to try again, and its lastError says why', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened()]);
    const refusal = new Error('the destination is away');
    const processor = stepwiseProcessor('refused-to-the-end', source, () => Promise.resolve({ done: 0, error: refusal }));

    const run = await runFeedProcessor(processor, { db, holder: 'refused-spec', leaseTtlMs: 5_000, deadline: Date.now() + 2_000, concurrency: 1, interruptionBackoff: { baseMs: 50, maxMs: 100 } });

    expect(run).toMatchObject({ items: 0, caughtUp: false, stoppedByDeadline: false, lastError: refusal });
  });

  it('given a destination that refused a while and then took each item in steps until the deadline, the run is stopped by the deadline', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 11 }, (_, index) => deposited(index + 1))]);
    const processor = stepwiseProcessor('refused-then-slow', source, refusingOn((call) => call <= 2, 150).handle);

    // Two refusals of 50 to 100 ms each, then twelve steps of 150 ms against a second and a half.
    const run = await runFeedProcessor(processor, { db, holder: 'refused-then-slow-spec', leaseTtlMs: 5_000, deadline: Date.now() + 1_500, concurrency: 1, interruptionBackoff: { baseMs: 50, maxMs: 100 } });

    expect(run.items).toBeGreaterThan(0);
    expect(run.items).toBeLessThan(12);
    expect(run).toMatchObject({ caughtUp: false, stoppedByDeadline: true });
  });

  it('given a handler that took a batch, far from the head, and then met one passing refusal whose pause outlasts the run, the run is stopped by the deadline', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 59 }, (_, index) => deposited(index + 1))]);
    const destination = refusingOn((call) => call === 2, 100);
    const processor = stepwiseProcessor('refused-once-at-the-end', source, destination.handle);

    // The first batch's steps take at most a second of the three; the pause after the refusal (5 to 10 s, with its jitter) would take the rest and more.
    const run = await runFeedProcessor(processor, { db, holder: 'refused-once-spec', leaseTtlMs: 5_000, deadline: Date.now() + 3_000, concurrency: 1, interruptionBackoff: { baseMs: 10_000, maxMs: 10_000 } });

    expect(destination.calls()).toBe(2);
    expect(run.items).toBeGreaterThan(0);
    expect(run).toMatchObject({ caughtUp: false, stoppedByDeadline: true });
  });
});
