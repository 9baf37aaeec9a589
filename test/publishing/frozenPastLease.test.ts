import { jetstreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, type Db } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { createPublisher, eventRouting, listParkedMessages, requeueParkedMessage, type Publisher } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { frozenAtStatement, type StatementPick } from '../support/frozenAtStatement';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { startOnTheOldSchema } from './oldOutbox';

const { name: streamName, prefix } = uniqueJetStream();
// Short, so a spec can outlast them: JetStream's memory of message ids, and a publisher's lease.
const DUPLICATE_WINDOW_MS = 1_500;
const LEASE_TTL_MS = 500;
let nc: NatsConnection;
const testDatabase = usePooledTestDatabase(6);

beforeAll(async () => {
  nc = await connectNats();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`], duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
});

afterAll(async () => {
  await deleteJetStream(nc, streamName);
  await nc.close();
});

// Events of streams named so go to a subject only the requeue spec's own stream captures, once it exists.
const PARKED_FIRST = 'parked-first';
const parkedSubject = `${prefix}_parked.opened`;

const publisherOn = (db: Db, holder: string, batchSize?: number): Publisher =>
  createPublisher({
    db,
    holder,
    connect: () => connectNats(),
    routing: eventRouting({ prefix, subjectFor: (event) => (event.streamId.startsWith(PARKED_FIRST) ? parkedSubject : undefined) }),
    stream: { name: streamName, duplicateWindowMs: DUPLICATE_WINDOW_MS },
    subjectPrefix: prefix,
    partitions: 1,
    leaseTtlMs: LEASE_TTL_MS,
    retryHorizonMs: 1_400,
    publishTimeoutMs: 500,
    retryBackoff: { baseMs: 50, maxMs: 200 },
    ...(batchSize === undefined ? {} : { batchSize }),
  });

const firstPageOf =
  (source: 'event' | 'outbox'): StatementPick =>
  (_text, _params, options) =>
    options?.name === `publisher_${source}_page`;

/** The events' `n`th page read: the second is the page read ahead while the first batch publishes. */
function nthEventPage(n: number): StatementPick {
  let seen = 0;
  return (_text, _params, options) => options?.name === 'publisher_event_page' && ++seen === n;
}

// The events' look at their lease after a page is read (externalBatchGate).
const eventsLeaseLook: StatementPick = (_text, params, options) => options?.name === 'processor_external_batch_gate' && params?.[0] === 'publisher:events';

// The read of requeued events' messages (eventMessagesById).
const requeuedEventsRead: StatementPick = (text) => text.includes('WHERE e.event_id = ANY');

// A lease's renewal (RENEW_SQL) of the events' publishing, as a drain makes it before each batch after its first.
const eventsLeaseRenewal: StatementPick = (text, params) => text.includes('SET expires_at') && text.includes('l.epoch = $4') && params?.[0] === 'publisher:events';

/** How many copies of each message id JetStream stored. */
async function copiesOf(ids: readonly string[]): Promise<number[]> {
  const stored = (await readStoredMessages(nc, streamName)).map((message) => message.header.get('Nats-Msg-Id'));
  return ids.map((id) => stored.filter((storedId) => storedId === id).length);
}

/**
 * Given a publisher frozen as `freezing` says, when its lease runs out,
 * another instance takes the partition over and publishes, and `meanwhile` has run,
 * then the frozen one thaws: its run's report.
 */
async function frozenThenThawed(db: Db, freezing: ReturnType<typeof frozenAtStatement>, meanwhile: () => Promise<void>, batchSize?: number) {
  const stale = publisherOn(freezing.db, 'frozen', batchSize);
  const successor = publisherOn(db, 'successor');
  try {
    const staleRun = stale.run({ deadline: Date.now() + 10_000 });
    await freezing.frozen;
    await sleep(LEASE_TTL_MS + 200);
    const taken = await successor.run({ deadline: Date.now() + 5_000 });
    expect(taken).toMatchObject({ caughtUp: true });
    await meanwhile();
    freezing.thaw();
    return await staleRun;
  } finally {
    await stale.close();
    await successor.close();
  }
}

describe('a publisher frozen before its page read, past its lease, while another instance publishes', () => {
  it('publishes nothing again when it thaws, even past the duplicate window: what it read is not sent once its lease was taken over', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    const streamId = uniqueStreamId();
    const appended = await store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), opened('bob')] });
    await untilFeedHorizonPasses(db);
    const ids = appended.events.map((event) => event.eventId);

    // Thawed after JetStream has forgotten the successor's message ids.
    const stale = await frozenThenThawed(db, frozenAtStatement(db, firstPageOf('event'), 'before'), () => sleep(DUPLICATE_WINDOW_MS + 300));

    expect({ copies: await copiesOf(ids), published: stale.published, leaseLost: stale.leaseLost }).toEqual({ copies: [1, 1], published: 0, leaseLost: 1 });
  });
});

describe('a publisher frozen just after renewing its lease, with its next page read ahead, while another instance publishes', () => {
  it('does not send that page when it thaws, even past the duplicate window', async () => {
    const db = testDatabase();
    const appended = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), opened('bob'), opened('carol')] });
    await untilFeedHorizonPasses(db);

    // Pages of one event: the second is read while the first is published, before the renewal.
    const stale = await frozenThenThawed(db, frozenAtStatement(db, eventsLeaseRenewal, 'after'), () => sleep(DUPLICATE_WINDOW_MS + 300), 1);

    expect({ copies: await copiesOf(appended.events.map((event) => event.eventId)), leaseLost: stale.leaseLost }).toEqual({ copies: [1, 1, 1], leaseLost: 1 });
  });
});

describe('a publisher frozen as the answer to a page read comes, past its lease, while another instance publishes', () => {
  it('does not send its first page when it thaws, even past the duplicate window: the page was read before the takeover, and looked at after it', async () => {
    const db = testDatabase();
    const appended = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), opened('bob')] });
    await untilFeedHorizonPasses(db);

    const stale = await frozenThenThawed(db, frozenAtStatement(db, nthEventPage(1), 'after'), () => sleep(DUPLICATE_WINDOW_MS + 300));

    expect({ copies: await copiesOf(appended.events.map((event) => event.eventId)), published: stale.published, leaseLost: stale.leaseLost }).toEqual({ copies: [1, 1], published: 0, leaseLost: 1 });
  });

  it('does not send its page when the answer to its look at the lease came after the freeze', async () => {
    const db = testDatabase();
    const appended = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), opened('bob')] });
    await untilFeedHorizonPasses(db);

    const stale = await frozenThenThawed(db, frozenAtStatement(db, eventsLeaseLook, 'after'), () => sleep(DUPLICATE_WINDOW_MS + 300));

    expect({ copies: await copiesOf(appended.events.map((event) => event.eventId)), published: stale.published, leaseLost: stale.leaseLost }).toEqual({ copies: [1, 1], published: 0, leaseLost: 1 });
  });

  it('does not send the page it read ahead while its first batch published', async () => {
    const db = testDatabase();
    const appended = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), opened('bob'), opened('carol')] });
    await untilFeedHorizonPasses(db);

    const stale = await frozenThenThawed(db, frozenAtStatement(db, nthEventPage(2), 'after'), () => sleep(DUPLICATE_WINDOW_MS + 300), 1);

    expect({ copies: await copiesOf(appended.events.map((event) => event.eventId)), published: stale.published, leaseLost: stale.leaseLost }).toEqual({ copies: [1, 1, 1], published: 1, leaseLost: 1 });
  });
});

describe('a publisher of a caught-up partition frozen before its page read, while another instance publishes what came since', () => {
  it('reports the partition lost when it thaws, not caught up', async () => {
    const db = testDatabase();
    const store = createEventStore(db);
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const first = publisherOn(db, 'first');
    await first.run({ deadline: Date.now() + 5_000 });
    await first.close();
    await store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened(), opened('bob')] });
    await untilFeedHorizonPasses(db);

    const stale = await frozenThenThawed(db, frozenAtStatement(db, firstPageOf('event'), 'before'), () => Promise.resolve());

    expect({ published: stale.published, leaseLost: stale.leaseLost, caughtUp: stale.caughtUp }).toEqual({ published: 0, leaseLost: 1, caughtUp: false });
  });
});

describe('a publisher frozen in its requeue turn’s read of a requeued event, past its lease, while another instance sends it', () => {
  it('does not send it again when it thaws, even past the duplicate window', async () => {
    const db = testDatabase();
    const appended = await createEventStore(db).appendToStream({ streamId: uniqueStreamId(PARKED_FIRST), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(db);
    const eventId = appended.events[0]?.eventId ?? '';
    // No stream captures its subject yet: parked.
    const parking = publisherOn(db, 'parking');
    expect(await parking.run({ deadline: Date.now() + 5_000 })).toMatchObject({ parked: 1 });
    await parking.close();
    const parkedStream = `${streamName}_PARKED`;
    await (await jetstreamManager(nc)).streams.add({ name: parkedStream, subjects: [parkedSubject], duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
    try {
      expect(await requeueParkedMessage(db, eventId)).toBe(true);

      const stale = await frozenThenThawed(db, frozenAtStatement(db, requeuedEventsRead, 'before'), () => sleep(DUPLICATE_WINDOW_MS + 300));

      const stored = (await readStoredMessages(nc, parkedStream)).map((message) => message.header.get('Nats-Msg-Id'));
      expect({ stored, sentByTheFrozen: stale.requeued, parked: await listParkedMessages(db, { limit: 10 }) }).toEqual({ stored: [eventId], sentByTheFrozen: 0, parked: [] });
    } finally {
      await deleteJetStream(nc, parkedStream);
    }
  });
});

describe('a publisher frozen before its page read of the outbox, past its lease, while another instance publishes', () => {
  it('publishes no integration message again when it thaws, even past the duplicate window', async () => {
    const db = testDatabase();
    const key = uniqueStreamId();
    const notices = [1, 2].map((n) => ({ subject: `${prefix}.notices.sent`, orderingKey: key, body: { n } }));
    const appended = await createEventStore(db).appendToStream({ streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: notices });
    await untilFeedHorizonPasses(db);
    const { rows } = await db.query<{ message_id: string }>('SELECT message_id FROM outbox WHERE ordering_key = $1 ORDER BY id', [key]);
    const ids = [...appended.events.map((event) => event.eventId), ...rows.map((row) => row.message_id)];

    // Its events were published before its outbox page froze; the messages, by its successor.
    const stale = await frozenThenThawed(db, frozenAtStatement(db, firstPageOf('outbox'), 'before'), () => sleep(DUPLICATE_WINDOW_MS + 300));

    expect({ copies: await copiesOf(ids), leaseLost: stale.leaseLost }).toEqual({ copies: [1, 1, 1], leaseLost: 1 });
  });
});

describe('after the upgrade from the per-event outbox, a publisher frozen past its lease (well within the duplicate window)', () => {
  it('does not send again an event the old outbox published long ago, once the successor’s cleanup has deleted its old row', async () => {
    const old = await startOnTheOldSchema(nc, prefix);
    try {
      // a1 still waited when publishing moved to the feed, so the feed's publishing starts before b1.
      const [a1 = ''] = await old.appendTheOldWay('account-a', 0, ['AccountOpened']);
      const [b1 = ''] = await old.appendTheOldWay('account-b', 0, ['AccountOpened']);
      await old.publishTheOldWay(b1);
      await old.db.query("UPDATE outbox SET created_at = now() - interval '2 days'");
      await migrate(old.db);
      await untilFeedHorizonPasses(old.db);
      // b1 went out long ago: JetStream no longer remembers its id.
      await sleep(DUPLICATE_WINDOW_MS + 300);

      await frozenThenThawed(old.db, frozenAtStatement(old.db, firstPageOf('event'), 'before'), async () => {
        const { rows } = await old.db.query<{ rows: number }>('SELECT count(*)::int AS rows FROM outbox WHERE event_id = $1', [b1]);
        // The successor's cleanup deleted b1's row of the old outbox, the mark the feed's publishing skipped it by.
        expect(rows[0]?.rows).toBe(0);
      });

      expect(await copiesOf([a1, b1])).toEqual([1, 1]);
    } finally {
      await old.close();
    }
  });
});
