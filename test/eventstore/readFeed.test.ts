import { expect, it } from 'vitest';
import {
  EventValidationError,
  FEED_SCAN_BOUND,
  feedReadingAge,
  START_OF_FEED,
  compareCheckpoints,
  formatCheckpoint,
  parseCheckpoint,
  type AppendRequest,
  type Checkpoint,
  type ReadFeedOptions,
  type RecordedEvent,
} from '../../core/eventstore';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId, withdrawn } from '../support/fixtures';
import { readThrough, readToHead } from '../support/followFeed';

describeOnEachDriver('the global feed', (context) => {
  const append = (request: AppendRequest) => context().store.appendToStream(request);
  const ofStreams = (events: RecordedEvent[], ...streamIds: string[]) =>
    events.filter((event) => streamIds.includes(event.streamId));

  it('delivers events across streams in commit order, in pages that follow the checkpoint', async () => {
    const a = uniqueStreamId();
    const b = uniqueStreamId();
    await append({ streamId: a, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(1)] });
    await append({ streamId: b, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const last = await append({ streamId: a, streamType: 'account', expectedVersion: 2, events: [withdrawn(1)] });

    const { events } = await readThrough(context().store, START_OF_FEED, last.checkpoint, { batchSize: 2 });
    expect(ofStreams(events, a, b).map((event) => [event.streamId, event.version])).toEqual([
      [a, 1],
      [a, 2],
      [b, 1],
      [a, 3],
    ]);
  });

  it('filters by event type and stream type, and moves the checkpoint past what did not match', async () => {
    const account = uniqueStreamId();
    const transfer = uniqueStreamId('transfer');
    await append({ streamId: account, streamType: 'account', expectedVersion: 'any', events: [opened(), deposited(5)] });
    await append({ streamId: transfer, streamType: 'transfer', expectedVersion: 'any', events: [deposited(7)] });
    const last = await append({ streamId: account, streamType: 'account', expectedVersion: 'any', events: [withdrawn(2)] });
    // Read in one go once all of them are visible: each checkpoint is where the feed put the reader, not where a wait for `last` stopped.
    await untilFeedHorizonPasses(context().db);
    const readFiltered = (filters: { eventTypes?: string[]; streamTypes?: string[] }) => readToHead(context().store, START_OF_FEED, filters);

    const deposits = await readFiltered({ eventTypes: ['MoneyDeposited'] });
    expect(ofStreams(deposits.events, account, transfer).map((event) => event.data)).toEqual([{ amount: 5 }, { amount: 7 }]);
    expect(deposits.events.every((event) => event.type === 'MoneyDeposited')).toBe(true);
    const transfers = await readFiltered({ streamTypes: ['transfer'] });
    expect(ofStreams(transfers.events, account, transfer).map((event) => event.streamId)).toEqual([transfer]);
    expect(transfers.events.every((event) => event.streamType === 'transfer')).toBe(true);
    const both = await readFiltered({ eventTypes: ['MoneyDeposited'], streamTypes: ['account'] });
    expect(ofStreams(both.events, account, transfer).map((event) => event.data)).toEqual([{ amount: 5 }]);
    // The last event did not match the deposit filter, yet the filtered reader stands on or past it.
    expect(deposits.checkpoint.position).toBeGreaterThanOrEqual(last.checkpoint.position);
  });

  it('walks a filtered page a window at a time: behind more events of other types than one window, a page comes back empty and not caught up, past them', async () => {
    await untilFeedHorizonPasses(context().db);
    const before = (await readToHead(context().store, START_OF_FEED, { eventTypes: ['RareThing'] })).checkpoint;
    // A window and a half of other events, then one event of the rare type.
    await context().db.query(
      `INSERT INTO events (stream_id, stream_type, version, event_id, type, data)
       SELECT 'other-' || gen_random_uuid(), 'other', 1, gen_random_uuid(), 'Other', '{}' FROM generate_series(1, $1::integer)`,
      [FEED_SCAN_BOUND * 1.5],
    );
    const rare = uniqueStreamId('rare');
    await append({ streamId: rare, streamType: 'rare', expectedVersion: 'no_stream', events: [{ type: 'RareThing', data: {} }] });
    await untilFeedHorizonPasses(context().db);

    const first = await context().store.readFeed({ after: before, batchSize: 100, eventTypes: ['RareThing'] });
    expect({ events: first.events.length, caughtUp: first.caughtUp }).toEqual({ events: 0, caughtUp: false });
    expect(compareCheckpoints(first.checkpoint, before)).toBe(1);
    const rest = await readToHead(context().store, first.checkpoint, { batchSize: 100, eventTypes: ['RareThing'] });
    expect(rest.events.map((event) => event.streamId)).toEqual([rare]);
  });

  it('hides a transaction in flight, and every later commit behind it, until it ends', async () => {
    const slow = uniqueStreamId();
    const fast = uniqueStreamId();
    const start = (await context().store.readFeed({ batchSize: 1 })).checkpoint;

    // The slow transaction takes the lower global position, then commits last. What it waits for runs inside
    // it, so it ends with that, also when an assertion fails: left open, it would hold back every file's feed.
    const { slowResult, fastResult, whileHeld } = await context().db.transaction(async (tx) => {
      const slowResult = await context().store.appendToStream(
        { streamId: slow, streamType: 'account', expectedVersion: 'no_stream', events: [opened('slow')] },
        tx,
      );
      const fastResult = await append({ streamId: fast, streamType: 'account', expectedVersion: 'no_stream', events: [opened('fast')] });

      // A reader checkpointing "highest position seen" would now take the fast event and skip the slow one forever.
      let checkpoint = start;
      for (let page = await context().store.readFeed({ after: start }); ; page = await context().store.readFeed({ after: checkpoint })) {
        expect(ofStreams(page.events, slow, fast)).toEqual([]);
        checkpoint = page.checkpoint;
        if (page.caughtUp) return { slowResult, fastResult, whileHeld: checkpoint };
      }
    });

    expect(slowResult.checkpoint.position).toBeLessThan(fastResult.checkpoint.position);
    const { events } = await readThrough(context().store, whileHeld, fastResult.checkpoint);
    expect(ofStreams(events, slow, fast).map((event) => event.streamId)).toEqual([slow, fast]);
  });

  it('never delivers events of a rolled-back transaction', async () => {
    const doomed = uniqueStreamId();
    const kept = uniqueStreamId();
    await expect(
      context().db.transaction(async (tx) => {
        await context().store.appendToStream(
          { streamId: doomed, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] },
          tx,
        );
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const last = await append({ streamId: kept, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

    const { events } = await readThrough(context().store, START_OF_FEED, last.checkpoint);
    expect(ofStreams(events, doomed, kept).map((event) => event.streamId)).toEqual([kept]);
  });

  it('refuses a batch size outside 1..10000', async () => {
    await expect(context().store.readFeed({ batchSize: 0 })).rejects.toBeInstanceOf(EventValidationError);
    await expect(context().store.readFeed({ batchSize: 10_001 })).rejects.toBeInstanceOf(EventValidationError);
  });

  it('refuses, before the database sees it, a checkpoint past what PostgreSQL holds or a filter it cannot store', async () => {
    const { store } = context();
    await expect(store.readFeed({ after: { txId: 1n, position: 2n ** 63n } })).rejects.toBeInstanceOf(EventValidationError);
    await expect(store.readFeed({ after: { txId: -1n, position: 0n } })).rejects.toBeInstanceOf(EventValidationError);
    await expect(store.readFeed({ eventTypes: ['Money\u0000Deposited'] })).rejects.toBeInstanceOf(EventValidationError);
    await expect(store.readFeed({ streamTypes: ['acc\u0000ount'] })).rejects.toBeInstanceOf(EventValidationError);
  });

  it('refuses filters that are no list of type names, or none, rather than read a page that matches nothing and moves its checkpoint past every event', async () => {
    const { store } = context();
    const streamId = uniqueStreamId();
    await append({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(context().db);
    // One text reached PostgreSQL as an array literal ('{account}' filtered by it); null or a number matched nothing.
    for (const filter of [{ streamTypes: 'account' }, { streamTypes: '{account}' }, { eventTypes: 'AccountOpened' }, { eventTypes: [null] }, { streamTypes: [7] }, { eventTypes: [] }, { eventTypes: [''] }, { eventTypes: new Array<string>(1) }]) {
      await expect(store.readFeed(filter as unknown as ReadFeedOptions), JSON.stringify(filter)).rejects.toThrow(EventValidationError);
    }
    const page = await readToHead(store, START_OF_FEED, { eventTypes: ['AccountOpened'] });
    expect(page.events.map((event) => event.streamId)).toContain(streamId);
  });

  it('refuses options, a partition or read options that are no object', async () => {
    const { store } = context();
    await expect(store.readFeed(null as unknown as ReadFeedOptions)).rejects.toThrow(EventValidationError);
    await expect(store.readFeed({ partition: null } as unknown as ReadFeedOptions)).rejects.toThrow(EventValidationError);
    await expect(store.readStream(uniqueStreamId(), null as unknown as object)).rejects.toThrow(EventValidationError);
  });

  it('tells how old the first event past a checkpoint is, 0 past the last, and refuses a checkpoint that is none', async () => {
    const { db } = context();
    const first = await append({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await append({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const age = await feedReadingAge(db, first.checkpoint);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    expect(await feedReadingAge(db, { txId: 2n ** 64n - 1n, position: 2n ** 63n - 1n })).toBe(0);
    for (const after of [null, undefined, {}, { txId: 1, position: 2 }, { txId: -1n, position: 0n }]) {
      await expect(feedReadingAge(db, after as unknown as Checkpoint), JSON.stringify(after, (_, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))).rejects.toThrow(EventValidationError);
    }
  });

  it('round-trips a checkpoint through text, and refuses text out of range', () => {
    const checkpoint = { txId: 18_446_744_073_709_551_615n, position: 9_223_372_036_854_775_807n };
    expect(parseCheckpoint(formatCheckpoint(checkpoint))).toEqual(checkpoint);
    expect(() => parseCheckpoint('12')).toThrow(/<txId>:<position>/);
    expect(() => parseCheckpoint('1:9223372036854775808')).toThrow(/out of range/);
    expect(() => parseCheckpoint('18446744073709551616:1')).toThrow(/out of range/);
    expect(() => parseCheckpoint('1:9223372036854775808')).toThrow(EventValidationError);
    expect(() => parseCheckpoint(12)).toThrow(EventValidationError);
  });
});
