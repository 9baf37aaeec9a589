import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDb, migrate, type PgliteDb } from '../../core/db';
import { listParkedMessages, parkMessages, requeueParkedMessage } from '../../core/publishing';

// PGlite's clock ticks in milliseconds: two transactions a few hundred microseconds apart
// read the same now(), and a requeue made again within the tick of the one before gives
// requeued_at the value it has. Tried many times, so that some pairs fall in one tick.
const TRIES = 200;

describe('a message requeued again after a requeue turn read it, on PGlite', () => {
  let db: PgliteDb;
  beforeAll(async () => {
    db = createPgliteDb();
    await migrate(db);
  });
  afterAll(() => db.close());

  it('stays requeued when the turn parks the refused try again, whatever the clock read', async () => {
    const undone: number[] = [];
    for (let attempt = 0; attempt < TRIES; attempt++) {
      const parking = { messageId: crypto.randomUUID(), orderingKey: `key-${attempt}`, subject: 'events.lost', error: 'no stream' };
      await parkMessages(db, 'events', [parking]);
      expect(await requeueParkedMessage(db, parking.messageId)).toBe(true);
      // The turn reads the requeued messages in this snapshot (RequeuedMessages.seenIn)...
      const { rows } = await db.query<{ seen_in: string }>('SELECT pg_current_snapshot()::text AS seen_in');
      // ...an operator requeues the message again, after a fix...
      expect(await requeueParkedMessage(db, parking.messageId)).toBe(true);
      // ...and the turn, refused the try it read, parks it again.
      await parkMessages(db, 'events', [{ ...parking, error: 'no stream, again' }], rows[0]?.seen_in ?? null);
      const [parked] = (await listParkedMessages(db, { limit: 10_000 })).filter((message) => message.messageId === parking.messageId);
      if (parked?.requeuedAt === null) undone.push(attempt);
    }
    expect(undone).toEqual([]);
  });
});
