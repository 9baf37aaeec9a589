import { describe, expect, it } from 'vitest';
import type { Db, QueryOptions } from '../../core/db';
import type { RecordedEvent } from '../../core/eventstore';
import { BatchItemError, ExternalOutcomeError, getProcessorStatus, runFeedProcessor, type ExternalOutcome, type FeedProcessor } from '../../core/processing';
import { deposited, opened, sleep } from '../support/fixtures';
import { newStreamSource } from '../support/newStreamSource';
import { onePartitionProcessor } from '../support/onePartitionProcessor';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);

/** An external processor of one stream of two new events, whose handler answers each batch with `outcome` and counts its calls. */
async function externalProcessor(name: string, outcome: (items: readonly RecordedEvent[]) => ExternalOutcome) {
  const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
  const calls = { count: 0 };
  const processor = onePartitionProcessor(name, source, {
    mode: 'external',
    handle: (items) => {
      calls.count += 1;
      return Promise.resolve(outcome(items));
    },
  });
  return { processor, calls };
}

const run = (processor: FeedProcessor<RecordedEvent>, deadline = Date.now() + 5_000) =>
  runFeedProcessor(processor, { db: db(), holder: 'h', leaseTtlMs: 30_000, deadline, concurrency: 1, interruptionBackoff: { baseMs: 20, maxMs: 40 } });

describe('an external handler’s outcome', () => {
  it('that is no whole number of its items (NaN, a fraction, more than the batch) ends the run with an ExternalOutcomeError, its batch not retried', async () => {
    for (const [label, done] of [['nan', (items: readonly RecordedEvent[]) => items.length / Number(undefined)], ['fraction', () => 0.5], ['too_many', (items: readonly RecordedEvent[]) => items.length + 1]] as const) {
      const { processor, calls } = await externalProcessor(`external_outcome_${label}`, (items) => ({ done: done(items) }));

      await expect(run(processor), label).rejects.toBeInstanceOf(ExternalOutcomeError);

      expect(calls.count, label).toBe(1);
      expect((await getProcessorStatus(db(), processor))[0]?.itemsProcessed, label).toBe(0);
    }
  });

  it('with a BatchItemError naming an item it did not stop at (one of those done, or none of its batch when thrown) ends the run with an ExternalOutcomeError, storing nothing', async () => {
    const named = await externalProcessor('external_outcome_named_done_item', (items) => ({ done: 1, error: new BatchItemError('refused for good', items[0]?.eventId ?? null, null) }));
    const thrownOutside = await externalProcessor('external_outcome_thrown_other_item', () => {
      throw new BatchItemError('refused for good', crypto.randomUUID(), null);
    });

    for (const { processor } of [named, thrownOutside]) {
      const refused = await run(processor).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(refused, processor.name).toBeInstanceOf(ExternalOutcomeError);
      expect((refused as Error).message, processor.name).toMatch(/BatchItemError naming .*, which must name/);
      expect((await getProcessorStatus(db(), processor))[0], processor.name).toMatchObject({ itemsProcessed: 0, state: 'running', failedItemId: null });
    }
  });

  it('that is no whole number of its items beside an error keeps that error as the ExternalOutcomeError’s cause', async () => {
    const nats = new Error('NATS: no responders');
    const { processor } = await externalProcessor('external_outcome_nan_with_error', () => ({ done: Number.NaN, error: nats }));

    const refused = await run(processor).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(refused).toBeInstanceOf(ExternalOutcomeError);
    expect(refused).toMatchObject({ done: Number.NaN, cause: nats });
  });

  it('that stops short at its deadline with an error of null stops as it would with none: no interruption is recorded', async () => {
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    const processor = onePartitionProcessor('external_null_error_at_deadline', source, {
      mode: 'external',
      handle: async (_items, { deadline }) => {
        await sleep(Math.max(0, deadline - Date.now()) + 20);
        return { done: 1, error: null };
      },
    });

    const ran = await run(processor, Date.now() + 300);

    expect(ran.items).toBe(1);
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ itemsProcessed: 1, lastError: null, attempts: 0 });
  });

  it('that throws an error of its own ends the run with that error, and the partition’s status says so, run after run', async () => {
    const { source } = await newStreamSource(db(), [opened(), deposited(1)]);
    const bug = new TypeError("Cannot read properties of undefined (reading 'amount')");
    const processor = onePartitionProcessor('external_handler_throws', source, {
      mode: 'external',
      handle: () => Promise.reject(bug),
    });

    await expect(run(processor)).rejects.toBe(bug);
    await expect(run(processor)).rejects.toBe(bug);

    const [partition] = await getProcessorStatus(db(), processor);
    expect(partition).toMatchObject({ itemsProcessed: 0, attempts: 2, state: 'running' });
    expect(partition?.lastError).toMatch(/external_handler_throws: the handler's error ended the run: TypeError: Cannot read properties of undefined \(reading 'amount'\)/);
  });

  it('that is no whole number of its items says so in the partition’s status', async () => {
    const { processor } = await externalProcessor('external_outcome_status', () => ({ done: 0.5 }));

    await expect(run(processor)).rejects.toBeInstanceOf(ExternalOutcomeError);

    expect((await getProcessorStatus(db(), processor))[0]?.lastError).toMatch(/the handler's error ended the run: .*0\.5/);
  });

  it('that is no outcome at all (a handler that forgot its return) ends the run with an ExternalOutcomeError, its batch not retried', async () => {
    for (const [label, outcome] of [['undefined', undefined], ['null', null]] as const) {
      const { processor, calls } = await externalProcessor(`external_outcome_${label}`, () => outcome as unknown as ExternalOutcome);

      await expect(run(processor), label).rejects.toBeInstanceOf(ExternalOutcomeError);

      expect(calls.count, label).toBe(1);
    }
  });

  it('that says every item is done and gives an error ends the run with an ExternalOutcomeError carrying that error, its batch not stored as done', async () => {
    const passing = new Error('NATS went away after the last acknowledgement');
    const { processor, calls } = await externalProcessor('external_all_done_with_error', (items) => ({ done: items.length, error: passing }));

    const refused = await run(processor).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(refused).toBeInstanceOf(ExternalOutcomeError);
    expect(refused).toMatchObject({ cause: passing });
    expect((refused as Error).message).toMatch(/handled all 2 items of its batch, and gave an error/);
    expect(calls.count).toBe(1);
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ itemsProcessed: 0, caughtUp: false });
  });

  it('that stops short without an error, before the deadline, is retried as interrupted and says so in the status', async () => {
    const { processor, calls } = await externalProcessor('external_stops_short', () => ({ done: 0 }));

    const ran = await run(processor, Date.now() + 2_000);

    expect(ran.items).toBe(0);
    expect(calls.count).toBeGreaterThan(1);
    expect((await getProcessorStatus(db(), processor))[0]?.lastError).toBe('Error: the handler stopped short of its batch without saying why');
  });

  it('that stops short without an error, well before the deadline, is interrupted also when storing what it did waits for a connection past the deadline', async () => {
    const busy: Array<Promise<unknown>> = [];
    const { processor } = await externalProcessor('external_stops_short_pool_busy', () => {
      // Every pooled connection is taken until past the deadline, from the moment the handler answers.
      for (let i = 0; i < 4; i++) busy.push(db().query('SELECT pg_sleep(2)'));
      return { done: 1 };
    });

    const ran = await run(processor, Date.now() + 1_500);
    await Promise.all(busy);

    expect(ran.items).toBe(1);
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({
      itemsProcessed: 1,
      lastError: 'Error: the handler stopped short of its batch without saying why',
    });
  });

  it('that got part of its batch through before an error counts that batch among the run’s batches, and its retry as another', async () => {
    let calls = 0;
    const { processor } = await externalProcessor('external_part_way', (items) => {
      calls += 1;
      return calls === 1 ? { done: 1, error: new Error('NATS went away') } : { done: items.length };
    });

    const ran = await run(processor);

    expect(ran).toMatchObject({ items: 2, batches: 2, caughtUp: true });
  });

  it('that gives up on an item with a BatchItemError keeps what was done before it and counts the item under the failure policy, until the partition is failed', async () => {
    let calls = 0;
    const { processor } = await externalProcessor('external_gives_up', (items) => {
      calls += 1;
      // The deposit is refused for good; what comes before it goes through.
      const refused = items.findIndex((event) => event.type === 'MoneyDeposited');
      return { done: refused, error: new BatchItemError('the webhook refused it: 422', items[refused]?.eventId ?? null, new Error('422 Unprocessable Entity')) };
    });

    const first = await run(processor);

    expect(first.items).toBe(1);
    expect(first.failures).toEqual([expect.objectContaining({ attempts: 1, state: 'running' })]);
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ itemsProcessed: 1, attempts: 1, lastError: expect.stringContaining('422') as unknown });

    // Three failures: the policy gives up, and the partition is marked failed, not retried for ever.
    for (let attempt = 2; attempt <= 3; attempt += 1) {
      await sleep(20);
      await run(processor);
    }
    const [failed] = await getProcessorStatus(db(), processor);
    expect(failed).toMatchObject({ state: 'failed', attempts: 3 });
    expect(failed?.failedItemId).not.toBeNull();
    const callsWhenFailed = calls;
    await run(processor);
    expect(calls).toBe(callsWhenFailed);
  });

  it('that throws a BatchItemError counts it under the failure policy, its whole batch to be tried again', async () => {
    const { processor } = await externalProcessor('external_throws_item_error', (items) => {
      throw new BatchItemError('the destination refused the batch', items[0]?.eventId ?? null, null);
    });

    const ran = await run(processor);

    expect(ran.failures).toEqual([expect.objectContaining({ attempts: 1, state: 'running' })]);
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ itemsProcessed: 0, attempts: 1, lastError: expect.stringContaining('the destination refused the batch') as unknown });
  });

  it('that gives up on an item after its lease was taken over past the stored checkpoint still counts the items done, and the run says it lost the partition', async () => {
    const handed = { out: false };
    const { processor } = await externalProcessor('external_gives_up_taken_over', (items) => {
      handed.out = true;
      const refused = items.findIndex((event) => event.type === 'MoneyDeposited');
      return { done: refused, error: new BatchItemError('the webhook refused it: 422', items[refused]?.eventId ?? null, null) };
    });

    const ran = await runFeedProcessor(processor, {
      db: takenOverAfterCheckpoint(db(), processor.name, handed),
      holder: 'h',
      leaseTtlMs: 30_000,
      deadline: Date.now() + 5_000,
      concurrency: 1,
    });

    expect({ items: ran.items, leaseLost: ran.leaseLost, failures: ran.failures }).toEqual({ items: 1, leaseLost: [0], failures: [] });
    expect((await getProcessorStatus(db(), processor))[0]).toMatchObject({ itemsProcessed: 1, attempts: 0 });
  });
});

/** A Db on which another holder takes the partition over right after the first checkpoint stored under the lease once a batch was handed out. */
function takenOverAfterCheckpoint(base: Db, group: string, handed: { out: boolean }): Db {
  let taken = false;
  return {
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
      const result = await base.query<Row>(text, params, options);
      if (!taken && handed.out && options?.name === 'processor_advance_fenced' && result.rowCount === 1) {
        taken = true;
        await base.query("UPDATE partition_leases SET holder = 'elsewhere', epoch = epoch + 1, expires_at = clock_timestamp() + interval '1 minute' WHERE lease_group = $1", [group]);
      }
      return result;
    },
    transaction: (work) => base.transaction(work),
    close: () => base.close(),
  };
}
