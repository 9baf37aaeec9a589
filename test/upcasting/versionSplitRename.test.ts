import { describe, expect, it } from 'vitest';
import { START_OF_FEED, createEventStore } from '../../core/eventstore';
import { defineUpcasters, renameEventType } from '../../core/upcasting';
import { readThrough } from '../support/followFeed';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

// Its own database: the other upcasting specs read the whole feed with upcasters that know no LegacyNote.
const db = usePooledTestDatabase(2);

describe('a stored type whose versions were renamed to different types', () => {
  it('given LegacyNote v1 renamed to NoteTaken and v2 to NoteFiled, a feed filtered on either finds its version and moves on past the other', async () => {
    const store = createEventStore(db(), {
      upcaster: defineUpcasters([renameEventType('LegacyNote', 1, { type: 'NoteTaken' }), renameEventType('LegacyNote', 2, { type: 'NoteFiled' })]),
    });
    const streamId = `notes-${crypto.randomUUID()}`;
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    // As last year's code stored them.
    await db().transaction(async (tx) => {
      for (const [index, text] of ['taken', 'filed'].entries()) {
        await tx.query(
          `INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data)
           VALUES ($1, 'notes', $2, $3, 'LegacyNote', $2, $4)`,
          [streamId, index + 1, ids[index], JSON.stringify({ text })],
        );
      }
    });
    const last = (await store.readStream(streamId)).events.at(-1);
    const through = { txId: last?.txId ?? 0n, position: last?.globalPosition ?? 0n };

    const taken = await readThrough(store, START_OF_FEED, through, { eventTypes: ['NoteTaken'] });
    const filed = await readThrough(store, START_OF_FEED, through, { eventTypes: ['NoteFiled'] });

    expect(taken.events.map((event) => [event.eventId, event.type, event.data])).toEqual([[ids[0], 'NoteTaken', { text: 'taken' }]]);
    expect(filed.events.map((event) => [event.eventId, event.type, event.data])).toEqual([[ids[1], 'NoteFiled', { text: 'filed' }]]);
  });
});
