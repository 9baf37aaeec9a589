import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, runFeedProcessor, type FeedProcessor, type ProcessorRun } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

// Each batch is shorter than the lease; together they outlast it. The first stays under
// half the lease (no renewal is due after it), the second is longer than what is then left.
const LEASE_TTL_MS = 3_000;
const FIRST_BATCH_MS = 1_100;
const SECOND_BATCH_MS = 2_200;

const db = usePooledTestDatabase(6);
let processors = 0;

async function threeEvents(): Promise<string[]> {
  const store = createEventStore(db());
  const { events } = await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1), deposited(2)] });
  await untilFeedHorizonPasses(db());
  return events.map((event) => event.eventId);
}

/** One event per batch, over this spec's stream only; the first two batches are slow. */
function processorOf(eventIds: readonly string[], handler: FeedProcessor<RecordedEvent>['handler'], name = `renewal_${++processors}`): FeedProcessor<RecordedEvent> {
  const wanted = new Set(eventIds);
  return {
    name,
    partitions: 1,
    batchSize: 1,
    source: eventFeedSource({ upcaster: NO_UPCASTING, partitionKey: (event) => (wanted.has(event.eventId) ? event.streamId : null) }),
    failurePolicy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
    handler,
  };
}

const batchTime = (eventIds: readonly string[], event: RecordedEvent | undefined) =>
  event?.eventId === eventIds[0] ? FIRST_BATCH_MS : event?.eventId === eventIds[1] ? SECOND_BATCH_MS : 0;

const runOf = (processor: FeedProcessor<RecordedEvent>, holder: string, leaseTtlMs: number) =>
  runFeedProcessor(processor, { db: db(), holder, leaseTtlMs, deadline: Date.now() + 20_000, concurrency: 1 });

describe('batches each shorter than the lease, together longer', () => {
  it('given a transactional processor alone, its run drains the partition: a lease that ran out with no one taking over is renewed', async () => {
    const eventIds = await threeEvents();
    const processor = processorOf(eventIds, {
      mode: 'transactional',
      handle: (events) => sleep(batchTime(eventIds, events[0])),
    });

    const run = await runOf(processor, 'alone', LEASE_TTL_MS);

    expect(run).toMatchObject({ items: 3, caughtUp: true, failures: [] });
  });

  it('given an external processor, another instance never takes it over from its live holder: no event handled twice, no holder reported dead', async () => {
    const eventIds = await threeEvents();
    const handled: string[] = [];
    const name = `renewal_${++processors}`;
    const firstAtWork = deferred();
    const processorFor = (holder: string) =>
      processorOf(eventIds, {
        mode: 'external',
        async handle(events) {
          if (holder === 'first') firstAtWork.resolve();
          await sleep(batchTime(eventIds, events[0]));
          handled.push(...events.map((event) => `${holder}:${event.eventId}`));
          return { done: events.length };
        },
      }, name);

    const first = runOf(processorFor('first'), 'first', LEASE_TTL_MS);
    await firstAtWork.promise;
    // Another instance, invoked every 100 ms as a schedule or a nudge would, until it gets the partition or the first is done.
    const others: ProcessorRun[] = [];
    const firstDone = first.then(() => true);
    let done = false;
    while (!done) {
      others.push(await runOf(processorFor('second'), 'second', 60_000));
      done = await Promise.race([firstDone, sleep(100).then(() => false)]);
    }

    expect(await first).toMatchObject({ items: 3, caughtUp: true });
    expect(others.flatMap((run) => run.failures)).toEqual([]);
    expect(handled).toEqual(eventIds.map((eventId) => `first:${eventId}`));
  });
});
