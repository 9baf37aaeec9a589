import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor, type FeedSource } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, sleep, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(6);

type Mode = 'transactional' | 'external';

/** Where a holder waits for the test once: its last page read and handled or about to be, its partition not yet given back. */
interface Pause {
  reached: ReturnType<typeof deferred>;
  goOn: ReturnType<typeof deferred>;
  done: boolean;
}

const newPause = (): Pause => ({ reached: deferred(), goOn: deferred(), done: false });

async function waitAt(pause: Pause | undefined): Promise<void> {
  if (!pause || pause.done) return;
  pause.done = true;
  pause.reached.resolve();
  await pause.goOn.promise;
}

/**
 * A one-partition processor recording the types it handles. With a pause, a
 * transactional one waits after its first batch commits; an external one after
 * its first read that reaches the head (no transaction is open at either).
 */
function recordingProcessor(mode: Mode, seen: string[], feed: FeedSource<RecordedEvent>, pause?: Pause): FeedProcessor<RecordedEvent> {
  const record = (events: readonly RecordedEvent[]) => seen.push(...events.map((event) => event.type));
  const source: FeedSource<RecordedEvent> = mode === 'transactional' ? feed : {
    ...feed,
    async read(db, request) {
      const page = await feed.read(db, request);
      if (page.caughtUp) await waitAt(pause);
      return page;
    },
  };
  return {
    name: `handover_${mode}`,
    partitions: 1,
    batchSize: 10,
    source,
    failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    handler:
      mode === 'transactional'
        ? { mode, handle: (events) => Promise.resolve(void record(events)), afterCommit: () => waitAt(pause) }
        : { mode, handle: (events) => Promise.resolve({ done: record(events) && events.length }) },
  };
}

const runOptions = (db: ReturnType<typeof testDatabase>, holder: string, deadline: number) => ({ db, holder, leaseTtlMs: 30_000, deadline, concurrency: 1 });

describe('an event committed while the holder of its partition is giving it back', () => {
  it.each<Mode>(['transactional', 'external'])(
    'is still handled by that holder (%s batches), although the run nudged for it found the partition held and left',
    async (mode) => {
      const db = testDatabase();
      const store = createEventStore(db);
      // A stream type of its own: the other cases share the database.
      const streamType = `handover_${mode}`;
      const streamId = uniqueStreamId();
      await store.appendToStream({ streamId, streamType, expectedVersion: 'no_stream', events: [opened()] });
      await untilFeedHorizonPasses(db);
      const feed = eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [streamType] });
      const pause = newPause();
      const seenByHolder: string[] = [];
      const holder = runFeedProcessor(recordingProcessor(mode, seenByHolder, feed, pause), runOptions(db, 'holder', Date.now() + 20_000));
      try {
        await pause.reached.promise;
        // Committed after the holder's last read, and the run it nudges finds the partition held.
        await store.appendToStream({ streamId, streamType, expectedVersion: 1, events: [deposited(5)] });
        await untilFeedHorizonPasses(db);
        const seenByNudged: string[] = [];
        const nudged = await runFeedProcessor(recordingProcessor(mode, seenByNudged, feed), runOptions(db, 'nudged', Date.now() + 5_000));
        expect(nudged.partitions).toEqual([]);
        expect(seenByNudged).toEqual([]);
      } finally {
        pause.goOn.resolve();
      }
      const run = await holder;

      expect(seenByHolder).toEqual(['AccountOpened', 'MoneyDeposited']);
      expect(run).toMatchObject({ items: 2, caughtUp: true, partitions: [0], failures: [] });
      const [status] = await getProcessorStatus(db, recordingProcessor(mode, [], feed));
      expect(status).toMatchObject({ lagItems: 0, itemsProcessed: 2 });
    },
  );
});

/** One stream, opened and readable, of a stream type no other spec writes, and the feed of that type. */
async function givenOneStreamOfItsOwnType(streamType: string) {
  const db = testDatabase();
  const store = createEventStore(db);
  const streamId = uniqueStreamId();
  await store.appendToStream({ streamId, streamType, expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(db);
  return { db, store, streamType, streamId, feed: eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [streamType] }) };
}

/** The stream's feed, with a deposit committed to the stream just before each look (a one-item read), and a wait after it. */
function depositBeforeEachLook(given: Awaited<ReturnType<typeof givenOneStreamOfItsOwnType>>, waitAfterMs = 0): FeedSource<RecordedEvent> {
  const { db, store, streamType, streamId, feed } = given;
  let version = 1;
  return {
    ...feed,
    async read(readDb, request) {
      if (request.limit === 1) {
        await store.appendToStream({ streamId, streamType, expectedVersion: version++, events: [deposited(1)] });
        await untilFeedHorizonPasses(db);
        if (waitAfterMs > 0) await sleep(waitAfterMs);
      }
      return feed.read(readDb, request);
    },
  };
}

describe('a run whose every look past a given-back partition finds something new', () => {
  it('ends: it looks once more after giving a partition back, not for as long as events keep coming', async () => {
    const given = await givenOneStreamOfItsOwnType('handover_steady');
    const { db } = given;
    // A writer that always commits just before the run looks.
    const writtenBeforeEachLook = depositBeforeEachLook(given);
    const started = Date.now();
    const run = await runFeedProcessor(recordingProcessor('transactional', [], writtenBeforeEachLook), runOptions(db, 'steady', started + 20_000));

    expect(run).toMatchObject({ items: 2, caughtUp: true, stoppedByDeadline: false });
    // Well under the deadline: a run that followed every new event would last until it.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

/** A pool whose first two lease releases fail, as on a connection lost for a moment. */
function losingTwoReleases(db: Db): Db {
  let lost = 0;
  const query: Db['query'] = (text, params, options) =>
    text.includes('SET holder = NULL') && lost++ < 2 ? Promise.reject(new Error('Connection terminated unexpectedly')) : db.query(text, params, options);
  return { ...db, query };
}

describe('a run that could not give its drained partition back', () => {
  it('does not take the partition over from itself as from a dead holder, nor count a failure against it', async () => {
    const given = await givenOneStreamOfItsOwnType('handover_unreleased');
    const { db, feed } = given;
    const leaseTtlMs = 300;
    // A look past the unreleased partition would find a new event, after the lease ran out.
    const lookingLate = depositBeforeEachLook(given, leaseTtlMs * 2);
    const processor = recordingProcessor('transactional', [], lookingLate);

    const run = await runFeedProcessor(processor, { ...runOptions(losingTwoReleases(db), 'unreleased', Date.now() + 10_000), leaseTtlMs });

    expect(run.failures).toEqual([]);
    const [partition] = await getProcessorStatus(db, { name: processor.name, source: feed });
    expect(partition).toMatchObject({ attempts: 0, lastError: null });
  });
});
