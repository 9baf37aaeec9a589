import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../core/eventstore';
import { getProcessorStatus, runFeedProcessor, type ExternalHandler, type FeedProcessor } from '../../core/processing';
import { deposited, opened } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

describe('an external batch that stops short at the deadline', () => {
  it('given a handler that handles its batch in steps and stops when the deadline comes, stores how far it got without counting an interruption, and the next run goes on from there', async () => {
    const db = testDatabase();
    const { source } = await newStreamSource(db, [opened(), ...Array.from({ length: 11 }, (_, index) => deposited(index + 1))]);
    const handled: number[] = [];
    // One item per step; past the deadline it starts no step, as the publisher starts no round.
    const inSteps: ExternalHandler<RecordedEvent>['handle'] = async (items, { deadline }) => {
      let done = 0;
      for (const item of items) {
        if (done > 0 && Date.now() >= deadline) break;
        handled.push(item.version);
        done += 1;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      return { done };
    };
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'stops-short',
      partitions: 1,
      batchSize: 10,
      source,
      failurePolicy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler: { mode: 'external', handle: inSteps },
    };
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
});
