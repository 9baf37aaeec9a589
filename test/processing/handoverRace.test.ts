import { describe, expect, it } from 'vitest';
import { createEventStore, NO_UPCASTING, type RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor, type FeedSource } from '../../core/processing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, deposited, opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(6);

/**
 * The feed, but the first read that reaches its head waits, after reading, until
 * the test lets it go: a holder whose last read of its partition is done, and
 * which has not given the partition back yet.
 */
function pausedAtTheHead(source: FeedSource<RecordedEvent>, signals: { readTheHead: () => void; goOn: Promise<void> }): FeedSource<RecordedEvent> {
  let paused = false;
  return {
    ...source,
    async read(db, request) {
      const page = await source.read(db, request);
      if (page.caughtUp && !paused) {
        paused = true;
        signals.readTheHead();
        await signals.goOn;
      }
      return page;
    },
  };
}

type Mode = 'transactional' | 'external';

function recordingProcessor(mode: Mode, seen: string[], source: FeedSource<RecordedEvent>): FeedProcessor<RecordedEvent> {
  const record = (events: readonly RecordedEvent[]) => seen.push(...events.map((event) => event.type));
  return {
    name: `handover_${mode}`,
    partitions: 1,
    batchSize: 10,
    source,
    failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    handler:
      mode === 'transactional'
        ? { mode, handle: (events) => Promise.resolve(void record(events)) }
        : { mode, handle: (events) => Promise.resolve({ done: record(events) && events.length }) },
  };
}

describe('an event committed while the holder of its partition is giving it back', () => {
  it.each<Mode>(['transactional', 'external'])(
    'is still handled by that holder (%s batches), although the run nudged for it found the partition held and left',
    async (mode) => {
      const db = testDatabase();
      const store = createEventStore(db);
      // A stream type of its own: the other mode's case shares the database.
      const streamType = `handover_${mode}`;
      const streamId = uniqueStreamId();
      await store.appendToStream({ streamId, streamType, expectedVersion: 'no_stream', events: [opened()] });
      await untilFeedHorizonPasses(db);
      const readTheHead = deferred();
      const goOn = deferred();
      const seenByHolder: string[] = [];
      const source = eventFeedSource({ upcaster: NO_UPCASTING, streamTypes: [streamType] });
      const holder = runFeedProcessor(recordingProcessor(mode, seenByHolder, pausedAtTheHead(source, { readTheHead: readTheHead.resolve, goOn: goOn.promise })), {
        db,
        holder: 'holder',
        leaseTtlMs: 30_000,
        deadline: Date.now() + 20_000,
        concurrency: 1,
      });
      try {
        await readTheHead.promise;
        // Committed after the holder's last read, and the run it nudges finds the partition held.
        await store.appendToStream({ streamId, streamType, expectedVersion: 1, events: [deposited(5)] });
        const seenByNudged: string[] = [];
        const nudged = await runFeedProcessor(recordingProcessor(mode, seenByNudged, source), {
          db,
          holder: 'nudged',
          leaseTtlMs: 30_000,
          deadline: Date.now() + 5_000,
          concurrency: 1,
        });
        expect(nudged.partitions).toEqual([]);
        expect(seenByNudged).toEqual([]);
      } finally {
        goOn.resolve();
      }
      const run = await holder;

      expect(seenByHolder).toEqual(['AccountOpened', 'MoneyDeposited']);
      expect(run).toMatchObject({ items: 2, caughtUp: true, partitions: [0], failures: [] });
      const [status] = await getProcessorStatus(db, recordingProcessor(mode, [], source));
      expect(status).toMatchObject({ lagItems: 0, itemsProcessed: 2 });
    },
  );
});
