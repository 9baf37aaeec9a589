import { describe, expect, it } from 'vitest';
import { NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorLag, getProcessorStatus, ProcessorDefinitionError, registerProcessor, runFeedProcessor, stopProcessor, type FeedProcessor } from '../../core/processing';
import { defineUpcasters, renameEventType } from '../../core/upcasting';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);

/** A valid processor with what a spec changes. */
const base = (overrides: Partial<FeedProcessor<RecordedEvent>>): FeedProcessor<RecordedEvent> => ({
  name: 'checked_definition',
  partitions: 1,
  batchSize: 10,
  source: eventFeedSource({ upcaster: NO_UPCASTING }),
  failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
  handler: { mode: 'transactional', handle: () => Promise.resolve() },
  ...overrides,
});

describe('a processor’s definition', () => {
  it('is refused at registration with a partition count or a name the records cannot hold, writing nothing', async () => {
    for (const [name, partitions] of [['zero_partitions', 0], ['fractional_partitions', 2.5], ['', 1], ['with\u0000nul', 1]] as const) {
      await expect(registerProcessor(db(), name, partitions), JSON.stringify([name, partitions])).rejects.toThrow(ProcessorDefinitionError);
    }
    const { rows } = await db().query("SELECT name FROM feed_processors WHERE name IN ('zero_partitions', 'fractional_partitions', '')");
    expect(rows).toEqual([]);
  });

  it('is refused with a feed source filtered to no event type or no stream type, which would read nothing and pass every event by', () => {
    for (const filter of [{ eventTypes: [] }, { streamTypes: [] }]) {
      expect(() => eventFeedSource({ upcaster: NO_UPCASTING, ...filter }), JSON.stringify(filter)).toThrow(ProcessorDefinitionError);
    }
  });

  it('is refused with a feed source whose filters are no list of names PostgreSQL can hold, or whose partition key is no function: each failed every batch', () => {
    const refused = [
      { streamTypes: 'account' },
      { eventTypes: ['MoneyDeposited', 7] },
      { eventTypes: ['Money\u0000Deposited'] },
      { streamTypes: ['account\uD800'] },
      { partitionKey: 'correlationId' },
      // A setting with a trailing comma, split: the feed refuses the empty name on every read.
      { eventTypes: 'MoneyDeposited,'.split(',') },
      { streamTypes: ['x'.repeat(201)] },
      { eventTypes: new Array<string>(1) },
    ];
    for (const definition of refused) {
      expect(() => eventFeedSource({ upcaster: NO_UPCASTING, ...(definition as object) }), JSON.stringify(definition)).toThrow(ProcessorDefinitionError);
    }
    expect(() => eventFeedSource({ upcaster: NO_UPCASTING, eventTypes: ['MoneyDeposited'], streamTypes: ['account'], partitionKey: (event) => event.streamId })).not.toThrow();
  });

  it('is refused with a feed source without an upcaster (store.upcasters misspelt), which failed every batch blaming its first event, or without options at all', () => {
    const refused: unknown[] = [{ upcaster: undefined }, { upcaster: {} }, { upcaster: undefined, eventTypes: ['MoneyDeposited'] }, undefined];
    for (const options of refused) {
      expect(() => eventFeedSource(options as Parameters<typeof eventFeedSource>[0]), JSON.stringify(options)).toThrow(ProcessorDefinitionError);
    }
  });

  it('is refused with a feed source filtered to a type the upcasters rename away, whose events would reach it under the new name and be passed by', () => {
    const upcaster = defineUpcasters([renameEventType('FundsAdded', 1, { type: 'MoneyDeposited' })]);

    expect(() => eventFeedSource({ upcaster, eventTypes: ['MoneyDeposited', 'FundsAdded'] })).toThrow(
      new ProcessorDefinitionError('a feed source handles FundsAdded, which the upcasters rename to MoneyDeposited: its events reach handlers as MoneyDeposited, so handle that type instead'),
    );
    expect(() => eventFeedSource({ upcaster, eventTypes: ['MoneyDeposited'] })).not.toThrow();
  });

  it('is refused with a batch size that is not a whole number from 1 to a PostgreSQL integer’s maximum, before anything is registered or leased', async () => {
    for (const batchSize of [0, -5, 2.5, Number.NaN, 2 ** 31]) {
      const name = `bad_batch_${String(batchSize)}`;
      const processor = base({ name, batchSize, handler: { mode: 'external', handle: (items) => Promise.resolve({ done: items.length }) } });

      const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1 });

      await expect(running, String(batchSize)).rejects.toThrow(ProcessorDefinitionError);
      await expect(running, String(batchSize)).rejects.toThrow('batchSize');
      const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1 UNION ALL SELECT 1 FROM partition_leases WHERE lease_group = $1', [name]);
      expect(rows, String(batchSize)).toEqual([]);
    }
  });

  it('is refused with a batch size larger than its source reads, the feed’s 10,000, before anything is registered', async () => {
    const processor = base({ name: 'feed_batch_too_large', batchSize: 10_001 });

    const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1 });

    await expect(running).rejects.toThrow(new ProcessorDefinitionError('feed_batch_too_large: batchSize must be an integer from 1 to 10000, not 10001'));
    const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1', ['feed_batch_too_large']);
    expect(rows).toEqual([]);
  });

  describe('is refused with a ProcessorDefinitionError, before anything is registered or leased', () => {
    const cases: [string, FeedProcessor<RecordedEvent>, number, string][] = [
      ['0 partitions', base({ name: 'zero_partitions', partitions: 0 }), 1, 'partitions'],
      ['1,025 partitions', base({ name: 'too_many_partitions', partitions: 1025 }), 1, 'partitions'],
      ['2.5 partitions', base({ name: 'fractional_partitions', partitions: 2.5 }), 1, 'partitions'],
      ['an empty name', base({ name: '' }), 1, 'name'],
      ['a name of 201 characters', base({ name: 'x'.repeat(201) }), 1, 'name'],
      ['a concurrency of 0, which would lease nothing and report nothing wrong', base({ name: 'zero_concurrency' }), 0, 'concurrency'],
      ['maxAttempts of 2.5, which no failure could be counted under', base({ name: 'fractional_attempts', failurePolicy: { maxAttempts: 2.5, baseDelayMs: 10, maxDelayMs: 20 } }), 1, 'maxAttempts'],
      ['maxAttempts of NaN (an unset variable read as a number)', base({ name: 'nan_attempts', failurePolicy: { maxAttempts: Number.NaN, baseDelayMs: 10, maxDelayMs: 20 } }), 1, 'maxAttempts'],
      ['a maximum delay below the base delay', base({ name: 'inverted_delays', failurePolicy: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 20 } }), 1, 'maxDelayMs'],
      // Built in JavaScript or read from a config file, past what the types catch:
      ['no failure policy', base({ name: 'no_policy', failurePolicy: undefined as unknown as FeedProcessor<RecordedEvent>['failurePolicy'] }), 1, 'failurePolicy'],
      ['a base delay of true, which compares like 1 and fails the statement counting a failure', base({ name: 'true_delay', failurePolicy: { maxAttempts: 3, baseDelayMs: true as unknown as number, maxDelayMs: 20 } }), 1, 'baseDelayMs'],
      ['a handler mode misspelt, which ran the handler outside a transaction', base({ name: 'mode_typo', handler: { mode: 'Transactional', handle: () => Promise.resolve() } as unknown as FeedProcessor<RecordedEvent>['handler'] }), 1, 'handler.mode'],
      ['a handler without a handle function', base({ name: 'no_handle', handler: { mode: 'external' } as unknown as FeedProcessor<RecordedEvent>['handler'] }), 1, 'handler.handle'],
      ['an afterCommit that is no function, which would apply a batch and then fail its after-commit work', base({ name: 'after_commit_text', handler: { mode: 'transactional', handle: () => Promise.resolve(), afterCommit: 'notify' } as unknown as FeedProcessor<RecordedEvent>['handler'] }), 1, 'handler.afterCommit'],
      ['no source', base({ name: 'no_source', source: undefined as unknown as FeedProcessor<RecordedEvent>['source'] }), 1, 'source'],
      ['a source that cannot read, which failed its first batch after registering', base({ name: 'source_without_read', source: {} as unknown as FeedProcessor<RecordedEvent>['source'] }), 1, 'source'],
      ['a name with a lone surrogate, stored as U+FFFD and so shared with every name differing in one', base({ name: 'audit-\ud800' }), 1, 'name'],
    ];
    for (const [given, processor, concurrency, naming] of cases) {
      it(`given ${given}`, async () => {
        const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency });

        await expect(running).rejects.toThrow(ProcessorDefinitionError);
        await expect(running).rejects.toThrow(naming);
        const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1', [processor.name]);
        expect(rows).toEqual([]);
      });
    }

    it('given run options a plain JavaScript caller got wrong: no db, or an onFailure or onInterrupted that is no function, whose every report would be lost', async () => {
      const processor = base({ name: 'bad_run_options' });
      const valid = { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1 };
      const refused: [string, object][] = [
        ['db', { db: undefined }],
        ['onFailure', { onFailure: 'log' }],
        ['onInterrupted', { onInterrupted: true }],
      ];
      for (const [naming, change] of refused) {
        const running = runFeedProcessor(processor, { ...valid, ...change });
        await expect(running, naming).rejects.toThrow(ProcessorDefinitionError);
        await expect(running, naming).rejects.toThrow(naming);
      }
      const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1', [processor.name]);
      expect(rows).toEqual([]);
    });

    it('given a deadline that is no number (an unset variable added to now), which would end the run before its first lease, silently', async () => {
      const processor = base({ name: 'nan_deadline' });
      const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + Number(undefined), concurrency: 1 });

      await expect(running).rejects.toThrow(new ProcessorDefinitionError('nan_deadline: deadline must be a time in epoch ms (or Infinity), not NaN'));
    });

    it('given a lease time no acquire could take: NaN, 0, or one past PostgreSQL’s timestamps', async () => {
      // Text (an environment variable read as is) compares as a number would, and was taken.
      for (const leaseTtlMs of [Number.NaN, 0, 1e16, '30000' as unknown as number]) {
        const processor = base({ name: `bad_lease_${String(leaseTtlMs)}${typeof leaseTtlMs}` });
        const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs, deadline: Date.now() + 5_000, concurrency: 1 });

        await expect(running, String(leaseTtlMs)).rejects.toThrow(ProcessorDefinitionError);
        await expect(running, String(leaseTtlMs)).rejects.toThrow('leaseTtlMs');
        const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1', [processor.name]);
        expect(rows, String(leaseTtlMs)).toEqual([]);
      }
    });

    it('given a holder that is empty or holds a NUL, which no lease could name', async () => {
      for (const [holder, name] of [['', 'empty_holder'], ['a\u0000b', 'nul_holder'], ['a\udc00', 'lone_surrogate_holder']] as const) {
        const running = runFeedProcessor(base({ name }), { db: db(), holder, leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1 });

        await expect(running, name).rejects.toThrow(new ProcessorDefinitionError(`${name}: holder must be a non-empty text without NUL or a lone surrogate`));
        const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1', [name]);
        expect(rows, name).toEqual([]);
      }
    });

    it('given an interruption backoff of 0 ms, which would retry an interrupted batch in a tight loop', async () => {
      const processor = base({ name: 'zero_backoff' });
      const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1, interruptionBackoff: { baseMs: 0, maxMs: 10 } });

      await expect(running).rejects.toThrow(new ProcessorDefinitionError('zero_backoff: interruptionBackoff.baseMs must be from 1 to 2147483647 ms, not 0'));
    });

    it('given an interruption backoff in text, whose bounds compare as text ("50" after "100")', async () => {
      const processor = base({ name: 'text_backoff' });
      const interruptionBackoff = { baseMs: '100', maxMs: '50' } as unknown as { baseMs: number; maxMs: number };
      const running = runFeedProcessor(processor, { db: db(), holder: 'one', leaseTtlMs: 10_000, deadline: Date.now() + 5_000, concurrency: 1, interruptionBackoff });

      await expect(running).rejects.toThrow(new ProcessorDefinitionError('text_backoff: interruptionBackoff.baseMs must be from 1 to 2147483647 ms, not 100'));
      const { rows } = await db().query('SELECT 1 FROM feed_processors WHERE name = $1', [processor.name]);
      expect(rows).toEqual([]);
    });
  });

  it('asked for its lag with a partition count of 0 or 2.5, before it ever ran, is refused rather than said to have nothing waiting', async () => {
    const source = eventFeedSource({ upcaster: NO_UPCASTING });
    for (const partitions of [0, 2.5, 1025]) {
      await expect(getProcessorLag(db(), { name: 'never_ran', source, partitions }), String(partitions)).rejects.toThrow(ProcessorDefinitionError);
    }
    expect((await getProcessorLag(db(), { name: 'never_ran', source, partitions: 2 })).waiting.map((lag) => lag.partition)).toEqual([0, 1]);
  });

  it('asked about by a name no processor can have (with a NUL), has no status, its lag is refused, and stopping it stops nothing', async () => {
    const source = eventFeedSource({ upcaster: NO_UPCASTING });
    const name = 'ledger\u0000export';
    expect(await getProcessorStatus(db(), { name, source })).toEqual([]);
    await expect(getProcessorLag(db(), { name, source })).rejects.toThrow(ProcessorDefinitionError);
    expect(await db().transaction((tx) => stopProcessor(tx, name))).toBe(false);
  });
});
