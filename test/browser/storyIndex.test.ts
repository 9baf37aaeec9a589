import { describe, expect, it } from 'vitest';
import { correlationStory, indexStories, search, StoryIndexFailedError, traceStory, type BrowserSources } from '../../core/browser';
import { resumeProcessors } from '../../core/processing';
import { createEventStore, NO_UPCASTING, type EventStore } from '../../core/eventstore';
import { EVENTS_BY_CORRELATION_SQL, storyCheckpoint } from '../../core/browser/storyQueries';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const testDatabase = usePooledTestDatabase(6);

const traceparentOf = (traceId: string) => `00-${traceId}-0123456789abcdef-01`;

/** Appends `count` events to their own stream, each carrying `metadata`; returns their ids in order. */
async function appendStory(store: EventStore, streamId: string, count: number, metadata: Record<string, string>): Promise<string[]> {
  const { events } = await store.appendToStream({
    streamId,
    streamType: 'story',
    expectedVersion: 'any',
    events: Array.from({ length: count }, (_, index) => ({ type: 'StepTaken', data: { index }, metadata })),
  });
  return events.map((event) => event.eventId);
}

function sourcesOf(): BrowserSources {
  return { db: testDatabase(), upcaster: NO_UPCASTING, aggregates: [], projections: [], sagas: [] };
}

/** Indexes what is stored so far, as the command sweeper's run does. */
async function indexWhatIsStored(holder = 'story-spec'): Promise<number> {
  const db = testDatabase();
  await untilFeedHorizonPasses(db);
  return (await indexStories(db, { holder, deadline: Date.now() + 20_000 })).items;
}

const storyEventIds = async (correlationId: string) => (await correlationStory(sourcesOf(), correlationId)).events.map((event) => event.eventId);

describe("the browser's story index, filled from the feed off the write path", () => {
  it('given a story half indexed and half appended after the index ran, tells all of it, in feed order, each event once', async () => {
    const store = createEventStore(testDatabase());
    const metadata = { correlationId: 'half-indexed', traceparent: traceparentOf('a'.repeat(32)) };
    const before = await appendStory(store, 'story-half-1', 3, metadata);
    await appendStory(store, 'story-other-1', 2, { correlationId: 'someone-else' });
    expect(await indexWhatIsStored()).toBeGreaterThanOrEqual(5);
    const after = await appendStory(store, 'story-half-2', 2, metadata);

    expect(await storyEventIds('half-indexed')).toEqual([...before, ...after]);
    // Once the index has caught up, the same story, now read through the index alone.
    await indexWhatIsStored();
    expect(await storyEventIds('half-indexed')).toEqual([...before, ...after]);
    expect(await storyEventIds('someone-else')).toHaveLength(2);
  });

  it('given a batch indexed between the read of the checkpoint and the story query, lists its events once each', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const appended = await appendStory(store, 'story-raced', 3, { correlationId: 'raced-request' });
    const checkpoint = await storyCheckpoint(db);
    expect(await indexWhatIsStored()).toBeGreaterThanOrEqual(3);

    const { rows } = await db.query<{ event_id: string }>(`SELECT event_id FROM (${EVENTS_BY_CORRELATION_SQL}) AS story`, ['raced-request', 1_000, ...checkpoint]);
    expect(rows.map((row) => row.event_id)).toEqual(appended);
  });

  it("given one trace across two requests, one indexed and one not yet, finds both correlations, the first one's story first", async () => {
    const store = createEventStore(testDatabase());
    const traceId = 'b'.repeat(32);
    await appendStory(store, 'trace-first', 1, { correlationId: 'trace-request-1', traceparent: traceparentOf(traceId) });
    await indexWhatIsStored();
    await appendStory(store, 'trace-second', 2, { correlationId: 'trace-request-2', traceparent: traceparentOf(traceId) });

    const traced = await traceStory(sourcesOf(), traceId);
    expect(traced.correlations).toEqual(['trace-request-1', 'trace-request-2']);
    expect(traced.story.events.map((event) => event.streamId)).toEqual(['trace-first']);
  });

  it('given a correlation and a trace found only through the index, or only past it, the search names each', async () => {
    const store = createEventStore(testDatabase());
    await appendStory(store, 'search-indexed', 1, { correlationId: 'search-indexed-request', traceparent: traceparentOf('c'.repeat(32)) });
    await indexWhatIsStored();
    await appendStory(store, 'search-new', 1, { correlationId: 'search-new-request', traceparent: traceparentOf('d'.repeat(32)) });

    for (const [q, kind] of [
      ['search-indexed-request', 'correlation'],
      ['search-new-request', 'correlation'],
      ['c'.repeat(32), 'trace'],
      ['d'.repeat(32), 'trace'],
    ] as const) {
      expect((await search(sourcesOf(), { q })).matches.map((match) => match.kind)).toEqual([kind]);
    }
    expect((await search(sourcesOf(), { q: 'e'.repeat(32) })).matches).toEqual([]);
  });

  it('given three indexer runs at once while events are appended, indexes each event once: no story shows an event twice or misses one', async () => {
    const store = createEventStore(testDatabase());
    const appended: string[] = [];
    const appending = (async () => {
      for (let round = 0; round < 20; round++) appended.push(...(await appendStory(store, `racing-${String(round % 4)}`, 5, { correlationId: 'racing-request' })));
    })();
    const runs = Array.from({ length: 3 }, (_, run) =>
      (async () => {
        for (let pass = 0; pass < 5; pass++) await indexStories(testDatabase(), { holder: `racer-${String(run)}`, deadline: Date.now() + 20_000 });
      })(),
    );
    await Promise.all([appending, ...runs]);
    await indexWhatIsStored();

    expect(new Set(await storyEventIds('racing-request'))).toEqual(new Set(appended));
    expect(await storyEventIds('racing-request')).toHaveLength(100);
  });

  it('given a batch the database refuses, the run throws naming the story index, the story still reads whole, and a run after the pause indexes it', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    await indexWhatIsStored();
    await db.query("ALTER TABLE story_keys ADD CONSTRAINT refuse_poison CHECK (correlation_id <> 'poisoned-request')");
    try {
      const appended = await appendStory(store, 'story-poisoned', 2, { correlationId: 'poisoned-request' });
      await untilFeedHorizonPasses(db);
      const failed = await indexStories(db, { holder: 'story-spec', deadline: Date.now() + 20_000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(StoryIndexFailedError);
      expect((failed as Error).message).toMatch(/story index failed a batch/);
      expect(await storyEventIds('poisoned-request')).toEqual(appended);

      await db.query('ALTER TABLE story_keys DROP CONSTRAINT refuse_poison');
      // The backoff after a first failure is a second.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(await indexWhatIsStored()).toBeGreaterThanOrEqual(2);
      expect(await storyEventIds('poisoned-request')).toEqual(appended);
    } finally {
      await db.query('ALTER TABLE story_keys DROP CONSTRAINT IF EXISTS refuse_poison');
    }
  });

  it('given its partition failed (by hand, or by an older release), every run says so and how to resume it; resumed, it indexes again', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    await indexWhatIsStored();
    await db.query("UPDATE processor_partitions SET state = 'failed', last_error = 'stopped by hand', failed_item_id = 'e-1' WHERE processor = 'browser:story-keys'");
    const appended = await appendStory(store, 'story-stopped', 1, { correlationId: 'stopped-request' });
    await untilFeedHorizonPasses(db);

    await expect(indexStories(db, { holder: 'story-spec', deadline: Date.now() + 20_000 })).rejects.toThrow(/failed at event e-1: stopped by hand; resumeProcessors/);
    expect(await storyEventIds('stopped-request')).toEqual(appended);

    await resumeProcessors(db, ['browser:story-keys']);
    expect(await indexWhatIsStored()).toBe(1);
  });
});
