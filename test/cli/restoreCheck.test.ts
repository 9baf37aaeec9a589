import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRestore, correlationStory, fixRestore, indexStories } from '../../core/browser';
import { createPgDb, type Db } from '../../core/db';
import { createEventStore, NO_UPCASTING, readFeed, START_OF_FEED, type EventStore } from '../../core/eventstore';
import { parkMessages, requeueParkedMessage } from '../../core/publishing';
import { createProjector, defineProjection } from '../../core/projections';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

type Noted = { type: 'Noted'; data: { n: number } };

// The same projection each time: it records every event it applies.
const notes = defineProjection<Noted>()({
  name: 'restore_notes',
  version: 1,
  tables: ['seen'],
  setup: async (tx, { seen }) => {
    await tx.query(`CREATE TABLE ${seen} (n integer NOT NULL)`);
  },
  handlers: {
    Noted: async (event, { tx, tables }) => {
      await tx.query(`INSERT INTO ${tables.seen} (n) VALUES ($1)`, [event.data.n]);
    },
  },
});

describe('restore-check: events restored from another cluster', () => {
  let database: TestDatabase;
  let db: Db;
  let store: EventStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createPgDb({ connectionString: database.url, max: 4 });
    store = createEventStore(db);
  });
  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  const note = (n: number) => store.appendToStream<Noted>({ streamId: `note-${String(n % 7)}-${String(n)}`, streamType: 'note', expectedVersion: 'no_stream', events: [{ type: 'Noted', data: { n } }] });
  const feedOrder = async () => (await readFeed(db, { after: START_OF_FEED, batchSize: 1_000 })).events.map((event) => event.eventId);
  const projector = () => createProjector({ db, projections: [notes] });
  const seen = async () => {
    const { rows } = await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'restore_notes__seen%'");
    const table = rows[0]?.table_name ?? '';
    return (await db.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`)).rows.map((row) => row.n);
  };

  /** As a dump/restore from a busier cluster leaves the rows: the events' transaction ids (and what `also` moves) far above this cluster's counter. */
  const restoredFromBusierCluster = (...also: string[]) =>
    db.transaction(async (tx) => {
      await tx.query('ALTER TABLE events DISABLE TRIGGER events_append_only_rows');
      await tx.query('UPDATE events SET tx_id = (tx_id::text::bigint + 5000000)::text::xid8');
      for (const statement of also) await tx.query(statement);
      await tx.query('ALTER TABLE events ENABLE TRIGGER events_append_only_rows');
    });

  it('finds events above this cluster’s transaction counter, and the fix renumbers them in order, checkpoints included', async () => {
    for (let n = 1; n <= 20; n += 1) await note(n);
    await projector().runUntilCaughtUp();
    for (let n = 21; n <= 30; n += 1) await note(n);
    await untilFeedHorizonPasses(db);
    const before = await feedOrder();
    expect(before).toHaveLength(30);
    expect(await checkRestore(db)).toMatchObject({ eventsAhead: 0 });

    await restoredFromBusierCluster("UPDATE processor_partitions SET checkpoint_tx = (checkpoint_tx::text::bigint + 5000000)::text::xid8 WHERE checkpoint_tx <> '0'");
    expect(await checkRestore(db)).toMatchObject({ eventsAhead: 30 });
    // What it breaks: no feed reader sees them.
    expect(await feedOrder()).toEqual([]);

    const fixed = await fixRestore(db);
    expect(fixed).toMatchObject({ eventsAhead: 0, outboxAhead: 0 });
    expect(await feedOrder()).toEqual(before);

    // The projection goes on from where it was: the ten it had not applied, once each; then new events, after the old ones.
    await projector().runUntilCaughtUp();
    expect(await seen()).toEqual(Array.from({ length: 30 }, (_, index) => index + 1));
    await note(31);
    expect((await feedOrder()).slice(0, 30)).toEqual(before);
    await untilFeedHorizonPasses(db);
    await projector().runUntilCaughtUp();
    expect(await seen()).toEqual(Array.from({ length: 31 }, (_, index) => index + 1));
  });

  it('finds a requeue of a parked message made in the other cluster, and the fix has it count as seen, so a refusal of the message parks it again', async () => {
    const stored = await note(100);
    const eventId = stored.events[0]?.eventId ?? '';
    const parking = { messageId: eventId, orderingKey: stored.streamId, subject: 'events.note.Noted', error: 'too big' };
    await parkMessages(db, 'events', [parking]);
    await requeueParkedMessage(db, eventId, 'events');
    await restoredFromBusierCluster('UPDATE parked_messages SET requeued_by = (requeued_by::text::bigint + 5000000)::text::xid8 WHERE requeued_by IS NOT NULL');
    expect(await checkRestore(db)).toMatchObject({ requeuesAhead: 1 });

    expect(await fixRestore(db)).toMatchObject({ eventsAhead: 0, outboxAhead: 0, requeuesAhead: 0 });

    // The publisher's next turn reads the requeue, and NATS refuses the message again: parked again, not requeued for ever.
    const { rows } = await db.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
    await parkMessages(db, 'events', [parking], rows[0]?.snapshot ?? null);
    const { rows: parked } = await db.query<{ requeued_at: Date | null }>('SELECT requeued_at FROM parked_messages WHERE message_id = $1', [eventId]);
    expect(parked).toEqual([{ requeued_at: null }]);
  });

  it('moves the place of a message stored from behind one still waiting with its event, so its checkpoint is still seen to pass it; a record whose message is gone goes', async () => {
    const stored = await note(300);
    const eventId = stored.events[0]?.eventId ?? '';
    await db.query(
      "INSERT INTO published_ahead (processor, partition, message_id, tx_id, position) SELECT 'publisher:events', 0, event_id, tx_id, global_position FROM events WHERE event_id = $1",
      [eventId],
    );
    // Its integration message cleaned up since: no row holds its place.
    await db.query("INSERT INTO published_ahead (processor, partition, message_id, tx_id, position) SELECT 'publisher:outbox', 0, gen_random_uuid(), tx_id, 1 FROM events WHERE event_id = $1", [eventId]);
    await db.query("UPDATE published_ahead SET tx_id = (tx_id::text::bigint + 1)::text::xid8 WHERE processor = 'publisher:outbox'");
    await restoredFromBusierCluster('UPDATE published_ahead SET tx_id = (tx_id::text::bigint + 5000000)::text::xid8');

    await fixRestore(db);

    const { rows } = await db.query<{ same_place: boolean }>(
      'SELECT coalesce(a.tx_id = e.tx_id AND a.position = e.global_position, false) AS same_place FROM published_ahead a LEFT JOIN events e ON e.event_id = a.message_id',
    );
    expect(rows).toEqual([{ same_place: true }]);
  });

  it("keeps a request's story whole: the events the story index had reached are still found through it after the fix, once each", async () => {
    const told = (n: number) =>
      store.appendToStream<Noted>({ streamId: `told-${String(n)}`, streamType: 'note', expectedVersion: 'no_stream', events: [{ type: 'Noted', data: { n }, metadata: { correlationId: 'restored-request' } }] });
    const ids = [];
    for (let n = 1; n <= 3; n += 1) ids.push((await told(n)).events[0]?.eventId);
    await untilFeedHorizonPasses(db);
    await indexStories(db, { holder: 'restore-spec', deadline: Date.now() + 10_000 });
    ids.push((await told(4)).events[0]?.eventId);
    const sources = { db, upcaster: NO_UPCASTING, aggregates: [], projections: [], sagas: [] };
    await restoredFromBusierCluster(
      'UPDATE story_keys SET tx_id = (tx_id::text::bigint + 5000000)::text::xid8',
      "UPDATE processor_partitions SET checkpoint_tx = (checkpoint_tx::text::bigint + 5000000)::text::xid8 WHERE checkpoint_tx <> '0'",
    );

    await fixRestore(db);

    expect((await correlationStory(sources, 'restored-request')).events.map((event) => event.eventId)).toEqual(ids);
  });

  it('with only requeues above the counter, counts those still requeued, and the fix has them count as seen without renumbering any event', async () => {
    const requeued = await note(200);
    const parkedAgain = await note(201);
    const parkingOf = (stored: typeof requeued) => ({ messageId: stored.events[0]?.eventId ?? '', orderingKey: stored.streamId, subject: 'events.note.Noted', error: 'too big' });
    for (const stored of [requeued, parkedAgain]) {
      await parkMessages(db, 'events', [parkingOf(stored)]);
      await requeueParkedMessage(db, parkingOf(stored).messageId, 'events');
    }
    // One of them was sent and refused again: parked again, its requeue over.
    await parkMessages(db, 'events', [parkingOf(parkedAgain)]);
    await db.query('UPDATE parked_messages SET requeued_by = (requeued_by::text::bigint + 5000000)::text::xid8 WHERE requeued_by IS NOT NULL');
    const { rows: idsBefore } = await db.query<{ tx_id: string }>('SELECT tx_id::text FROM events ORDER BY global_position');

    expect(await checkRestore(db)).toMatchObject({ eventsAhead: 0, outboxAhead: 0, requeuesAhead: 1 });
    expect(await fixRestore(db)).toMatchObject({ requeuesAhead: 0 });

    const { rows: idsAfter } = await db.query<{ tx_id: string }>('SELECT tx_id::text FROM events ORDER BY global_position');
    expect(idsAfter).toEqual(idsBefore);
    const { rows } = await db.query<{ ahead: number }>('SELECT count(*)::int AS ahead FROM parked_messages WHERE requeued_by >= pg_snapshot_xmax(pg_current_snapshot())');
    expect(rows[0]?.ahead).toBe(0);
  });
});
