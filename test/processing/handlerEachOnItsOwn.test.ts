import { describe, expect, it } from 'vitest';
import { inSavepoint } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { BatchItemError, eachOnItsOwn, eventFeedSource, getProcessorStatus, runFeedProcessor, type BatchRetry, type FeedProcessor, type TransactionalHandler } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, openedThenDeposits, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

// PostgreSQL's own refusal of a deadlocked transaction, raised where the spec wants it rather than waited for.
const DEADLOCK_SQL = "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected'; END $$";

/** A one-partition processor of the spec's own stream type `name`, failed at its first failure under the failure policy. */
const processorOf = (name: string, handle: TransactionalHandler<RecordedEvent, void>['handle']): FeedProcessor<RecordedEvent> => ({
  name,
  partitions: 1,
  batchSize: 10,
  source: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [name] }),
  failurePolicy: { maxAttempts: 1, baseDelayMs: 60_000, maxDelayMs: 60_000 },
  handler: { mode: 'transactional', handle },
});

/** Given a stream of `count` events of the type `name`, one run of the processor: how each failure is retried, and the partition's state and error after. */
async function runOnce(name: string, count: number, handle: TransactionalHandler<RecordedEvent, void>['handle']) {
  await createEventStore(db()).appendToStream({ streamId: uniqueStreamId(), streamType: name, expectedVersion: 'no_stream', events: openedThenDeposits(count) });
  await untilFeedHorizonPasses(db());
  const processor = processorOf(name, handle);
  const run = await runFeedProcessor(processor, { db: db(), holder: 'ledger', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
  const [status] = await getProcessorStatus(db(), processor);
  return { retries: run.failures.map((failure) => failure.error.retry), state: status?.state, lastError: status?.lastError };
}

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

  it('given a deadlock on its only item, retries its batch until it passes, as a deadlock thrown as it is: one busy moment marks no partition failed', async () => {
    const seen = await runOnce('each_deadlocked_alone', 1, async (events, { tx }) => {
      await eachOnItsOwn(events, (event) => event.eventId, () => tx.query(DEADLOCK_SQL));
    });

    expect(seen).toMatchObject({ retries: ['until_it_passes'], state: 'running', lastError: expect.stringContaining('deadlock detected') as unknown });
  });

  it('given a deadlock on its first item, and the items after it refused for it, retries its batch until it passes and says the deadlock began it', async () => {
    const seen = await runOnce('each_deadlocked_first', 3, async (events, { tx }) => {
      await eachOnItsOwn(events, (event) => event.eventId, (event) => tx.query(event.type === 'AccountOpened' ? DEADLOCK_SQL : 'SELECT 1'));
    });

    expect(seen).toMatchObject({ retries: ['until_it_passes'], state: 'running', lastError: expect.stringMatching(/went on past it.*The first failure: deadlock detected/) as unknown });
  });

  it('given a deadlock on one item and a failure of its own on another, each in its savepoint, counts the batch under the failure policy', async () => {
    const seen = await runOnce('each_deadlocked_and_failed', 2, async (events, { tx }) => {
      await eachOnItsOwn(events, (event) => event.eventId, (event) =>
        inSavepoint(tx, 'item', () => tx.query(event.type === 'AccountOpened' ? DEADLOCK_SQL : 'SELECT 1 / 0')),
      );
    });

    expect(seen).toMatchObject({ retries: ['failure_policy'], state: 'failed' });
  });

  it('given a deadlock the handler took as its item\'s failure under the policy (a BatchItemError of its own), and the items after it refused for it, keeps that choice', async () => {
    const seen = await runOnce('each_deadlock_counted', 2, async (events, { tx }) => {
      await eachOnItsOwn(events, (event) => event.eventId, async (event) => {
        if (event.type !== 'AccountOpened') return tx.query('SELECT 1');
        return tx.query(DEADLOCK_SQL).catch((error: unknown) => {
          throw new BatchItemError('poison', event.eventId, error, 'failure_policy');
        });
      });
    });

    expect(seen).toMatchObject({ retries: ['failure_policy'], state: 'failed' });
  });

  it('given a deadlock beside a failure of its own that wraps more than can be looked through (an error that is its own cause), counts the batch under the policy', async () => {
    const seen = await runOnce('each_deadlock_beside_endless', 1, async (_events, { tx }) => {
      const deadlock = await inSavepoint(tx, 'deadlock', () => tx.query(DEADLOCK_SQL)).catch((error: unknown) => error);
      const own = new Error('a failure of its own');
      own.cause = own;
      throw new AggregateError([deadlock, own], 'two failures');
    });

    expect(seen).toMatchObject({ retries: ['failure_policy'], state: 'failed' });
  });

  it('given a name that cannot be told for an item that failed, still runs the items after it and throws the work\'s own error', async () => {
    const ran: number[] = [];

    const thrown = await eachOnItsOwn([1, 2, 3], (item) => (item === 1 ? JSON.parse('{') as string : String(item)), async (item) => {
      ran.push(item);
      if (item === 1) throw new Error('work failed');
      await Promise.resolve();
    }).catch((error: unknown) => error);

    expect(ran).toEqual([1, 2, 3]);
    expect(thrown).toBeInstanceOf(AggregateError);
    expect((thrown as AggregateError).message).toBe('1 of 3 failed, the others ran: item 1: Error: work failed');
  });

  it('given every item failing, names each and speaks of no others that ran', async () => {
    const thrown = await eachOnItsOwn(['a'], String, () => Promise.reject(new Error('work failed'))).catch((error: unknown) => error);

    expect((thrown as AggregateError).message).toBe('1 of 1 failed: a: Error: work failed');
  });
});

describe('a retry a handler chooses for its batch', () => {
  it('refuses one that is neither way with a TypeError, which the run counts as the batch\'s failure, where storing it failed the statement that counts it on every run', async () => {
    expect(() => new BatchItemError('bad', null, null, 'until-it-passes' as BatchRetry)).toThrow(TypeError);

    const seen = await runOnce('misspelt_retry', 1, () => {
      throw new BatchItemError('bad', null, null, 'until-it-passes' as BatchRetry);
    });

    expect(seen).toMatchObject({ retries: ['failure_policy'], state: 'failed', lastError: expect.stringContaining("A batch's retry must be 'failure_policy' or 'until_it_passes', not \"until-it-passes\"") as unknown });
  });
});
