import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type EventUpcaster, type RecordedEvent } from '../../core/eventstore';
import {
  BatchItemError,
  eventFeedSource,
  getProcessorStatus,
  ProcessorDefinitionError,
  resumeProcessors,
  runFeedProcessor,
  UnknownProcessorError,
  type BatchRetry,
  type FailurePolicy,
  type FeedProcessor,
  type TransactionalHandler,
} from '../../core/processing';
import { defineUpcasters } from '../../core/upcasting';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(4);

const policy: FailurePolicy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 };

/** A one-partition processor of the whole feed whose batches fail as `handle` says. */
function failingProcessor(
  name: string,
  handle: TransactionalHandler<RecordedEvent, void>['handle'],
  { failurePolicy = policy, upcaster = NO_UPCASTING }: { failurePolicy?: FailurePolicy; upcaster?: EventUpcaster } = {},
): FeedProcessor<RecordedEvent, void> {
  return { name, partitions: 1, batchSize: 10, source: eventFeedSource({ upcaster }), failurePolicy, handler: { mode: 'transactional', handle } };
}

/** Runs the processor once its backoff has passed, and returns its partition's status. */
async function runAfterBackoff(db: Db, processor: FeedProcessor<RecordedEvent, void>) {
  await sleep(policy.maxDelayMs + 30);
  await runFeedProcessor(processor, { db, holder: processor.name, leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });
  const [partition] = await getProcessorStatus(db, processor);
  return partition;
}

async function givenOneEvent(db: Db): Promise<string | undefined> {
  const { events } = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db);
  return events[0]?.eventId;
}

describe('how a partition’s failures are counted', () => {
  it('given failures that pass by themselves past the policy’s attempts, a handler’s own failure then starts the count afresh', async () => {
    const db = testDatabase();
    const eventId = await givenOneEvent(db);
    let failing: BatchRetry = 'until_it_passes';
    const processor = failingProcessor('mixed_failures', (batch) =>
      Promise.reject(new BatchItemError(`failing: ${failing}`, batch[0]?.eventId ?? null, new Error(failing), failing)),
    );

    // A deploy rolling out: the event cannot be read yet, well past the policy's three attempts.
    for (let attempt = 1; attempt <= policy.maxAttempts + 2; attempt++) await runAfterBackoff(db, processor);
    expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', attempts: policy.maxAttempts + 3, failedItemId: eventId });

    // The event is readable now, but the handler itself fails: its own three attempts, then the partition gives up.
    failing = 'failure_policy';
    expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', attempts: 1 });
    expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', attempts: 2 });
    const last = await runAfterBackoff(db, processor);
    expect(last).toMatchObject({ state: 'failed', attempts: 3 });
    expect(last?.lastError).toContain('failure_policy');
  });

  it('given a handler’s own failures broken up by deadlocks, its policy’s attempts still run out, counted since the last success', async () => {
    const db = testDatabase();
    await givenOneEvent(db);
    let tries = 0;
    // Every other try meets a conflicting writer first (a real deadlock error of PostgreSQL's); the others reach the poison event.
    const processor = failingProcessor('poison_under_contention', async (batch, { tx }) => {
      tries += 1;
      const failure = tries % 2 === 0
        ? await tx.query(`DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$`).catch((error: unknown) => error)
        : new Error('the event breaks a rule of the read model');
      throw new BatchItemError('the batch failed', batch[0]?.eventId ?? null, failure);
    });

    expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', attempts: 1 });
    expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', lastError: expect.stringContaining('deadlock detected') as unknown });
    expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', attempts: 2 });
    await runAfterBackoff(db, processor);
    const last = await runAfterBackoff(db, processor);

    expect(tries).toBe(5);
    expect(last).toMatchObject({ state: 'failed', attempts: policy.maxAttempts });
    expect(last?.lastError).toContain('breaks a rule');
  });
});

describe('a partition the release before this one resumed, while both ran during a deploy', () => {
  it('counts this release’s next failure from the first, the count the old release could not clear cleared with its attempts', async () => {
    const db = testDatabase();
    await givenOneEvent(db);
    const processor = failingProcessor('resumed_by_old_release', (batch) =>
      Promise.reject(new BatchItemError('the event breaks a rule of the read model', batch[0]?.eventId ?? null, new Error('rule broken'))),
    );
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) await runAfterBackoff(db, processor);
    expect((await getProcessorStatus(db, processor))[0]).toMatchObject({ state: 'failed', attempts: policy.maxAttempts });

    // The old release's resume, as it was written before policy_attempts existed.
    await db.query("UPDATE processor_partitions SET state = 'running', attempts = 0, next_attempt_at = NULL, updated_at = now() WHERE processor = $1", [processor.name]);

    expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', attempts: 1 });
  });
});

describe('an upcaster whose transform throws on a stored event', () => {
  it('is a bug like a handler’s, under the failure policy: the partition is marked failed after its attempts', async () => {
    const db = testDatabase();
    await givenOneEvent(db);
    const buggy = defineUpcasters([
      {
        fromType: 'AccountOpened',
        fromVersion: 1,
        toType: 'AccountOpened',
        toVersion: 2,
        transform: () => {
          throw new TypeError('owner is not a string');
        },
      },
    ]);
    const handled: string[] = [];
    const processor = failingProcessor(
      'buggy_upcaster',
      (batch) => {
        handled.push(...batch.map((event) => event.eventId));
        return Promise.resolve();
      },
      { upcaster: buggy },
    );

    for (let attempt = 1; attempt < policy.maxAttempts; attempt++) expect(await runAfterBackoff(db, processor)).toMatchObject({ state: 'running', attempts: attempt });
    const last = await runAfterBackoff(db, processor);

    expect(handled).toEqual([]);
    expect(last).toMatchObject({ state: 'failed', attempts: policy.maxAttempts });
    expect(last?.lastError).toContain('owner is not a string');
  });
});

describe('resuming processors by name', () => {
  it('given a failed partition, a name never registered (a typo) is refused, naming it, and resumes nothing', async () => {
    const db = testDatabase();
    await givenOneEvent(db);
    const processor = failingProcessor(
      'saga:transfer',
      (batch) => Promise.reject(new BatchItemError('cannot handle it', batch[0]?.eventId ?? null, new Error('boom'))),
      { failurePolicy: { ...policy, maxAttempts: 1 } },
    );
    await runFeedProcessor(processor, { db, holder: 'resume', leaseTtlMs: 30_000, deadline: Date.now() + 5_000, concurrency: 1 });

    const refusal = await resumeProcessors(db, ['saga:transfer', 'saga:transfers']).catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(UnknownProcessorError);
    expect(refusal).toMatchObject({ code: 'UNKNOWN_PROCESSOR', processors: ['saga:transfers'] });
    expect((await getProcessorStatus(db, processor))[0]).toMatchObject({ state: 'failed' });
    expect(await resumeProcessors(db, ['saga:transfer'])).toEqual([{ processor: 'saga:transfer', partition: 0 }]);
  });

  it('given no list of names, or a name no processor could have (a NUL), is refused with a typed error, not the database\'s', async () => {
    const db = testDatabase();

    await expect(resumeProcessors(db, 'saga:transfer' as unknown as string[])).rejects.toThrow(new ProcessorDefinitionError('resumeProcessors needs a list of processor names'));
    const refusal = await resumeProcessors(db, ['saga\u0000transfer']).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnknownProcessorError);
    expect(refusal).toMatchObject({ processors: ['saga\u0000transfer'] });
  });
});
