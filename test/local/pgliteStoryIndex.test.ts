import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correlationStory, indexStories, search, traceStory } from '../../core/browser';
import { createPgliteDb, migrate, type PgliteDb } from '../../core/db';
import { createEventStore, NO_UPCASTING } from '../../core/eventstore';

describe("the browser's story index on PGlite (npm run dev's database)", () => {
  let db: PgliteDb;
  beforeAll(async () => {
    db = createPgliteDb();
    await migrate(db);
  });
  afterAll(() => db.close());

  it('given a story half indexed by a run and half appended after it, tells all of it by correlation, by trace and in the search', async () => {
    const store = createEventStore(db);
    const metadata = { correlationId: 'dev-request', traceparent: `00-${'f'.repeat(32)}-0123456789abcdef-01` };
    const append = async (streamId: string) =>
      (await store.appendToStream({ streamId, streamType: 'story', expectedVersion: 'no_stream', events: [{ type: 'StepTaken', data: {}, metadata }] })).events[0]?.eventId;
    const first = await append('dev-story-1');
    expect((await indexStories(db, { holder: 'dev-spec', deadline: Date.now() + 10_000 })).items).toBe(1);
    const second = await append('dev-story-2');
    const sources = { db, upcaster: NO_UPCASTING, aggregates: [], projections: [], sagas: [] };

    expect((await correlationStory(sources, 'dev-request')).events.map((event) => event.eventId)).toEqual([first, second]);
    expect((await traceStory(sources, 'f'.repeat(32))).correlations).toEqual(['dev-request']);
    expect((await search(sources, { q: 'dev-request' })).matches.map((match) => match.kind)).toEqual(['correlation']);
  });
});
