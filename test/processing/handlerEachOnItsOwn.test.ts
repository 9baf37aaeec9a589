import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eachOnItsOwn, eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

describe('a transactional handler that applies its items each on its own (eachOnItsOwn) and goes on past a failed statement', () => {
  it('given the first item\'s statement failing, fails its batch under the failure policy as one that went on past a failure, instead of ending every run uncounted', async () => {
    await createEventStore(db()).appendToStream({ streamId: uniqueStreamId(), streamType: 'each_account', expectedVersion: 'no_stream', events: [opened(), deposited(5)] });
    await untilFeedHorizonPasses(db());
    const processor: FeedProcessor<RecordedEvent> = {
      name: 'each_on_its_own_ledger',
      partitions: 1,
      batchSize: 10,
      source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: ['each_account'] }),
      failurePolicy: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      handler: {
        mode: 'transactional',
        // The first event's statement fails; eachOnItsOwn goes on to the next, which PostgreSQL refuses (25P02).
        handle: async (events, { tx }) => {
          await eachOnItsOwn(events, (event) => event.eventId, (event) => tx.query(event.type === 'AccountOpened' ? 'SELECT 1 / 0' : 'SELECT 1'));
        },
      },
    };

    const outcome = await runFeedProcessor(processor, { db: db(), holder: 'ledger', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 }).then(
      (run) => ({ failures: run.failures.map((failure) => (failure.error.cause instanceof Error ? failure.error.cause.name : 'none')) }),
      (error: unknown) => ({ threw: String(error) }),
    );

    expect(outcome).toEqual({ failures: ['HandlerWentOnPastFailureError'] });
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ attempts: 1, waitingOutBackoff: true });
  });
});
