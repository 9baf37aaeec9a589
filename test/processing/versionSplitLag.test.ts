import { describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import type { RecordedEvent } from '../../core/eventstore';
import { eventFeedSource, getProcessorStatus, runFeedProcessor, type FeedProcessor } from '../../core/processing';
import { defineUpcasters, renameEventType } from '../../core/upcasting';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

// Its own database: the lag counts every LegacyNote this file stores.
const testDatabase = usePooledTestDatabase(2);

// Last year's code stored LegacyNote; its version 1 reads as NoteTaken, its version 2 as NoteFiled.
const upcaster = defineUpcasters([renameEventType('LegacyNote', 1, { type: 'NoteTaken' }), renameEventType('LegacyNote', 2, { type: 'NoteFiled' })]);

async function storeLegacyNotes(db: Db, versions: readonly number[]): Promise<void> {
  const streamId = `notes-${crypto.randomUUID()}`;
  await db.transaction(async (tx) => {
    for (const [index, schemaVersion] of versions.entries()) {
      await tx.query(
        `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data)
         VALUES ($1, 'notes', $2, gen_random_uuid(), 'LegacyNote', $3, '{}')`,
        [streamId, index + 1, schemaVersion],
      );
    }
  });
  await untilFeedHorizonPasses(db);
}

/** More notes than a lag count's limit (LAG_COUNT_LIMIT, 10,000), each in a stream of its own, at one schema version. */
async function storeManyLegacyNotes(db: Db, count: number, schemaVersion: number): Promise<void> {
  await db.query(
    `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data)
     SELECT 'notes-' || gen_random_uuid(), 'notes', 1, gen_random_uuid(), 'LegacyNote', $2, '{}' FROM generate_series(1, $1::integer)`,
    [count, schemaVersion],
  );
  await untilFeedHorizonPasses(db);
}

function notesTaken(name: string, handled: string[]): FeedProcessor<RecordedEvent> {
  return {
    name,
    partitions: 1,
    batchSize: 1_000,
    source: eventFeedSource({ upcaster, eventTypes: ['NoteTaken'] }),
    failurePolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
    handler: {
      mode: 'transactional',
      handle: (events) => {
        handled.push(...events.map((event) => event.type));
        return Promise.resolve(undefined);
      },
    },
  };
}

const runOnce = (db: Db, processor: FeedProcessor<RecordedEvent>) =>
  runFeedProcessor(processor, { db, holder: 'one', leaseTtlMs: 30_000, deadline: Date.now() + 30_000, concurrency: 1 });

describe("the lag of a processor filtered to one of a stored type's renamed versions", () => {
  it('given LegacyNote v1 read as NoteTaken and v2 as NoteFiled, a processor of NoteTaken counts only the v1 notes as waiting, and is caught up once they are handled', async () => {
    const db = testDatabase();
    const handled: string[] = [];
    const processor = notesTaken('notes_taken', handled);
    await runOnce(db, processor);

    await storeLegacyNotes(db, [1, 2, 2, 1, 2]);
    const [behind] = await getProcessorStatus(db, processor);
    expect(behind).toMatchObject({ caughtUp: false, lagItems: 2, lagCapped: false });

    await runOnce(db, processor);
    expect(handled).toEqual(['NoteTaken', 'NoteTaken']);

    await storeLegacyNotes(db, [2, 2]);
    const [nothingForIt] = await getProcessorStatus(db, processor);
    expect(nothingForIt).toMatchObject({ caughtUp: true, lagItems: 0, lagCapped: false, lagSeconds: 0 });
  });

  it('counts the NoteTaken notes waiting behind more NoteFiled ones than the count limit, and calls a processor with only NoteFiled ones ahead caught up', async () => {
    const db = testDatabase();
    const handled: string[] = [];
    const processor = notesTaken('notes_taken_past_the_limit', handled);
    // Caught up first: past the notes the other spec left.
    await runOnce(db, processor);
    handled.length = 0;

    await storeManyLegacyNotes(db, 10_001, 2);
    const [nothingForIt] = await getProcessorStatus(db, processor);
    expect(nothingForIt).toMatchObject({ caughtUp: true, lagItems: 0, lagCapped: false, lagSeconds: 0 });

    await storeManyLegacyNotes(db, 3, 1);
    const [behind] = await getProcessorStatus(db, processor);
    expect(behind).toMatchObject({ caughtUp: false, lagItems: 3, lagCapped: false });

    await runOnce(db, processor);
    expect(handled).toEqual(['NoteTaken', 'NoteTaken', 'NoteTaken']);
  });
});
