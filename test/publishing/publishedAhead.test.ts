import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { eventRouting, readPublishingStatus, type PublisherOptions } from '../../core/publishing';
import { deposited, opened, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { untilLockWaiters } from '../support/lockWaiters';
import { readStoredMessages } from '../support/natsTesting';
import { eventMessages } from '../../core/publishing/eventMessages';
import { outboxMessages } from '../../core/publishing/outboxMessages';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { cleanedUpAfterEach, expectDeliveredOnceInOrder, publishEverything, runUntil, withFullStream, type PublishingHarness } from './publishingHarness';

const { harness } = cleanedUpAfterEach();

// Short enough to wait out in a test; the lease and the retry horizon must be shorter still.
const DUPLICATE_WINDOW_MS = 3_000;

/** A publisher of one partition, as a fresh function instance would run it, whose stream forgets message ids after DUPLICATE_WINDOW_MS. */
function shortWindowPublisher(h: PublishingHarness, heldStreamId: string, heldSubject: string, overrides: Partial<PublisherOptions> = {}) {
  const options: Partial<PublisherOptions> = {
    ...overrides,
    partitions: 1,
    routing: overrides.routing ?? eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.streamId === heldStreamId ? heldSubject : undefined) }),
    stream: { name: h.streamName, duplicateWindowMs: DUPLICATE_WINDOW_MS },
    retryHorizonMs: 2_900,
    publishTimeoutMs: 500,
    leaseTtlMs: 2_000,
    retryBackoff: { baseMs: 10, maxMs: 20 },
  };
  return h.publisher(options);
}

/** A new account's stream, its opening event written with one integration message. */
const openedWithNotice = (h: PublishingHarness, streamId: string, notice: { subject: string; orderingKey: string; body: { about: string } }) =>
  h.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [notice] });

const REFUSE_RECORDING_SQL = `
  CREATE FUNCTION refuse_recording() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'recording refused'; END $$;
  CREATE TRIGGER refuse_recording BEFORE INSERT ON published_ahead FOR EACH STATEMENT EXECUTE FUNCTION refuse_recording()`;

const PUBLISHED_AHEAD_SQL = 'SELECT count(*)::int AS rows FROM published_ahead';
const REFUSE_FORGETTING_SQL = `
  CREATE FUNCTION refuse_forgetting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'forgetting refused'; END $$;
  CREATE TRIGGER refuse_forgetting BEFORE DELETE ON published_ahead FOR EACH STATEMENT EXECUTE FUNCTION refuse_forgetting()`;

describe('messages stored from behind one held back longer than the duplicate window', () => {
  it('given events and a notice stored behind ones their stream refuses, when later runs retry past the window, then none of them is stored again; once the held ones go out, each is stored once', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject, fullStream) => {
      const held = uniqueStreamId();
      const free = uniqueStreamId();
      // One partition, in this order: the held stream's event and notice (their stream is full), then the free stream's.
      await openedWithNotice(h, held, { subject: fullSubject, orderingKey: held, body: { about: 'held' } });
      await h.store.appendToStream<AccountEvent>({
        streamId: free,
        streamType: 'account',
        expectedVersion: 'no_stream',
        events: [opened(), deposited(5)],
        messages: [{ subject: `${h.subjectPrefix}.notices.free`, orderingKey: free, body: { about: 'free' } }],
      });
      const first = await runUntil(shortWindowPublisher(h, held, fullSubject), (totals) => totals.published >= 3, 1_000);
      expect(first).toMatchObject({ published: 3, parked: 0, caughtUp: false });
      // What waits is the held ones only: what went out behind them is not counted.
      const status = await readPublishingStatus(h.db);
      expect({ events: status.events.backlog, outbox: status.outbox.backlog }).toEqual({ events: 1, outbox: 1 });

      await sleep(DUPLICATE_WINDOW_MS + 500);
      // A new instance, remembering nothing of the first, retries the held ones in each of its runs.
      const later = await runUntil(shortWindowPublisher(h, held, fullSubject), (totals) => totals.reports.filter((report) => report.retried > 0).length >= 2, 1_000);
      expect(later).toMatchObject({ published: 0, duplicates: 0, parked: 0, caughtUp: false });

      const stored = async () => {
        const messages = await readStoredMessages(h.nc, h.streamName);
        return {
          freeVersions: messages.filter((message) => message.header.get('Stream-Id') === free).map((message) => Number(message.header.get('Stream-Version'))),
          freeNotices: messages.filter((message) => message.subject.endsWith('.notices.free')).length,
        };
      };
      expect(await stored()).toEqual({ freeVersions: [1, 2], freeNotices: 1 });

      // Room is made: the held ones go out, and nothing behind them again.
      await (await jetstreamManager(h.nc)).streams.update(fullStream, { max_msgs: 10 });
      const rest = await publishEverything(h.db, shortWindowPublisher(h, held, fullSubject));
      expect(rest).toMatchObject({ published: 2, duplicates: 0 });
      expect(await stored()).toEqual({ freeVersions: [1, 2], freeNotices: 1 });
      const heldStored = await readStoredMessages(h.nc, fullStream);
      expect(heldStored.filter((message) => message.header.get('Stream-Id') === held)).toHaveLength(1);
      expect(heldStored.filter((message) => /"about": ?"held"/.test(message.string()))).toHaveLength(1);
      // Passed by both checkpoints, nothing of them is kept.
      expect((await h.db.query<{ rows: number }>(PUBLISHED_AHEAD_SQL)).rows[0]?.rows).toBe(0);
    });
  });

  it('given one stored behind a held notice, recorded and not yet forgotten when its outbox row is cleaned up, when a new notice takes its id and is stored behind another held one, then it is stored once, also past the window', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject, fullStream) => {
      const reused = randomUUID();
      const held = (n: number) => ({ subject: fullSubject, orderingKey: 'held', body: { about: `held ${String(n)}` } });
      const notice = (about: string) => ({ subject: `${h.subjectPrefix}.notices.${about}`, orderingKey: about, body: { about }, messageId: reused });
      const append = (messages: Array<ReturnType<typeof held> | ReturnType<typeof notice>>) =>
        h.store.appendToStream<AccountEvent>({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages });
      const roomForHeld = (count: number) => jetstreamManager(h.nc).then((jsm) => jsm.streams.update(fullStream, { max_msgs: 1 + count }));
      const records = async () => (await h.db.query<{ rows: number }>(PUBLISHED_AHEAD_SQL)).rows[0]?.rows;
      // Private events: only the notices go out. Cleaned up as soon as they are published and passed.
      const publisher = () => shortWindowPublisher(h, '', fullSubject, { routing: eventRouting({ subjectFor: () => null }), retention: { retentionMs: 0 } });
      await append([held(1), notice('first')]);
      await runUntil(publisher(), (totals) => totals.published >= 1, 1_000);
      // The database refuses to forget (a failure of any kind): the record outlives its outbox row.
      await h.db.query(REFUSE_FORGETTING_SQL);
      await roomForHeld(1);
      const passed = await publishEverything(h.db, publisher());
      expect(passed).toMatchObject({ published: 1, cleanupError: null });
      expect(passed.cleaned).toBeGreaterThan(0);
      expect(await records()).toBe(1);

      await sleep(DUPLICATE_WINDOW_MS + 500);
      await append([held(2), notice('second')]);
      await runUntil(publisher(), (totals) => totals.published >= 1, 1_000);
      await sleep(DUPLICATE_WINDOW_MS + 500);
      const later = await runUntil(publisher(), (totals) => totals.reports.filter((report) => report.retried > 0).length >= 2, 1_000);
      expect(later).toMatchObject({ published: 0, duplicates: 0 });

      const stored = await readStoredMessages(h.nc, h.streamName);
      expect(stored.filter((message) => message.header.get('Nats-Msg-Id') === reused).map((message) => message.subject.split('.').pop())).toEqual(['first', 'second']);
      // Once the database lets it, the run that passes the record forgets it.
      await h.db.query('DROP TRIGGER refuse_forgetting ON published_ahead');
      await roomForHeld(2);
      expect(await publishEverything(h.db, publisher())).toMatchObject({ published: 1, duplicates: 0 });
      expect(await records()).toBe(0);
    });
  });

  it('given a record of a partition the publisher no longer has (registered again with fewer), when it runs, then the record is forgotten', async () => {
    const h = await harness();
    const appended = await h.store.appendToStream<AccountEvent>({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await publishEverything(h.db, h.publisher({ partitions: 1 }));
    await h.db.query(
      "INSERT INTO published_ahead (processor, partition, message_id, tx_id, position) SELECT 'publisher:events', 3, event_id, tx_id, global_position FROM events WHERE event_id = $1",
      [appended.events[0]?.eventId],
    );

    await h.publisher({ partitions: 1 }).run();

    expect((await h.db.query<{ rows: number }>(PUBLISHED_AHEAD_SQL)).rows[0]?.rows).toBe(0);
  });

  it('given a record left behind being moved to a new message’s place while a run forgets what its checkpoints passed, then the moved record is kept', async () => {
    const h = await harness();
    const left = randomUUID();
    await h.store.appendToStream<AccountEvent>({
      streamId: uniqueStreamId(),
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      messages: [{ subject: `${h.subjectPrefix}.notices.first`, orderingKey: 'first', body: {}, messageId: left }],
    });
    const publisher = h.publisher({ partitions: 1 });
    await publishEverything(h.db, publisher);
    // Left behind at the published message's place, which the checkpoint has passed.
    await h.db.query("INSERT INTO published_ahead (processor, partition, message_id, tx_id, position) SELECT 'publisher:outbox', 0, message_id, tx_id, id FROM outbox WHERE message_id = $1", [left]);
    const recording = new pg.Client({ connectionString: h.database.url });
    await recording.connect();
    try {
      // A batch moves it to a place no checkpoint has passed, and has not committed yet.
      await recording.query('BEGIN');
      await recording.query("UPDATE published_ahead SET tx_id = '999999999', position = 999999 WHERE message_id = $1", [left]);
      const run = publisher.run();
      await untilLockWaiters(h.database.url, 'some');
      await recording.query('COMMIT');
      await run;
    } finally {
      await recording.end();
    }

    const { rows } = await h.db.query<{ place: string }>("SELECT tx_id::text || ':' || position AS place FROM published_ahead WHERE message_id = $1", [left]);
    expect(rows).toEqual([{ place: '999999999:999999' }]);
  });
});

describe('a partition with a key held back', () => {
  it('given a stream and a notice held by a full stream, then more public and private streams, sendable and unsendable notices behind them than a page holds, when runs retry the held ones, then every other message goes out or is parked, each once', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject) => {
      const held = uniqueStreamId();
      const open = Array.from({ length: 8 }, () => uniqueStreamId());
      const private_ = Array.from({ length: 8 }, () => uniqueStreamId());
      await openedWithNotice(h, held, { subject: fullSubject, orderingKey: held, body: { about: 'held' } });
      for (const [index, streamId] of open.entries()) {
        await openedWithNotice(h, streamId, { subject: `${h.subjectPrefix}.notices.free`, orderingKey: streamId, body: { about: streamId } });
        // A private stream whose notice goes to a subject no stream captures: parked.
        const privateId = private_[index] ?? '';
        await openedWithNotice(h, privateId, { subject: `${h.subjectPrefix}nowhere.notices`, orderingKey: privateId, body: { about: privateId } });
      }
      await untilFeedHorizonPasses(h.db);
      const isPrivate = new Set(private_);
      const routing = eventRouting({
        prefix: h.subjectPrefix,
        subjectFor: (event) => (event.streamId === held ? fullSubject : isPrivate.has(event.streamId) ? null : undefined),
      });
      // Pages of three: each try's page starts at the held ones, with what was settled behind them before.
      const publisher = shortWindowPublisher(h, held, fullSubject, { batchSize: 3, routing });
      const totals = await runUntil(publisher, (sofar) => sofar.published + sofar.parked >= 3 * open.length || sofar.reports.length >= 30, 1_000);

      expect(totals).toMatchObject({ published: 2 * open.length, parked: open.length, duplicates: 0, caughtUp: false });
      await expectDeliveredOnceInOrder(h, open, 1);
      const stored = await readStoredMessages(h.nc, h.streamName);
      expect(stored.filter((message) => isPrivate.has(message.header.get('Stream-Id')))).toEqual([]);
      const notices = stored.filter((message) => message.subject.endsWith('.notices.free')).map((message) => message.json<{ about: string }>().about);
      expect(notices.sort()).toEqual([...open].sort());
      const status = await readPublishingStatus(h.db);
      expect({ events: status.events.backlog, outbox: status.outbox.backlog, parked: status.parked }).toEqual({ events: 1, outbox: 1, parked: open.length });

      // What a retry reads: the held message, and what was settled behind it without its body.
      const retryPages = await Promise.all(
        [eventMessages(), outboxMessages()].map(async (source, index) => {
          const { rows } = await h.db.query<{ tx: string; position: string }>(
            'SELECT checkpoint_tx::text AS tx, checkpoint_position::text AS position FROM processor_partitions WHERE processor = $1',
            [index === 0 ? 'publisher:events' : 'publisher:outbox'],
          );
          const after = { txId: BigInt(rows[0]?.tx ?? -1), position: BigInt(rows[0]?.position ?? -1) };
          const page = await source.read(h.db, { after, limit: 3, partition: { index: 0, count: 1 } });
          const settled = page.items.filter((item) => item.settledBefore);
          return { waiting: page.items.length - settled.length, settled: settled.length, bodies: settled.filter((item) => item.payload !== '').length };
        }),
      );
      expect(retryPages).toEqual([
        { waiting: 1, settled: 2 * open.length, bodies: 0 },
        { waiting: 1, settled: 2 * open.length, bodies: 0 },
      ]);
    });
  });

  it('given messages behind held ones parked by a batch that failed to record them, when later runs retry the held ones, then the partition still goes on past them', async () => {
    const h = await harness();
    await withFullStream(h, async (fullSubject) => {
      const held = uniqueStreamId();
      const unsendable = [uniqueStreamId(), uniqueStreamId()];
      const open = Array.from({ length: 6 }, () => uniqueStreamId());
      await openedWithNotice(h, held, { subject: fullSubject, orderingKey: held, body: { about: 'held' } });
      for (const streamId of unsendable) await openedWithNotice(h, streamId, { subject: `${h.subjectPrefix}nowhere.notices`, orderingKey: streamId, body: { about: streamId } });
      for (const streamId of open) await openedWithNotice(h, streamId, { subject: `${h.subjectPrefix}.notices.free`, orderingKey: streamId, body: { about: streamId } });
      await untilFeedHorizonPasses(h.db);
      const isUnsendable = new Set(unsendable);
      const routing = eventRouting({
        prefix: h.subjectPrefix,
        subjectFor: (event) => (event.streamId === held ? fullSubject : isUnsendable.has(event.streamId) ? `${h.subjectPrefix}nowhere.events` : undefined),
      });
      const publisher = () => shortWindowPublisher(h, held, fullSubject, { batchSize: 3, routing });
      // The first batches park what lies behind the held ones, and fail recording it (each run ends with the error).
      await h.db.query(REFUSE_RECORDING_SQL);
      const parked = async () => (await h.db.query<{ rows: number }>('SELECT count(*)::int AS rows FROM parked_messages')).rows[0]?.rows ?? 0;
      for (let run = 0; run < 10 && (await parked()) < 2 * unsendable.length; run++) {
        await expect(publisher().run({ deadline: Date.now() + 1_000 })).rejects.toThrow(/recording refused/);
      }
      expect(await parked()).toBe(2 * unsendable.length);
      expect((await h.db.query<{ rows: number }>(PUBLISHED_AHEAD_SQL)).rows[0]?.rows).toBe(0);
      await h.db.query('DROP TRIGGER refuse_recording ON published_ahead');

      const later = await runUntil(publisher(), (sofar) => sofar.published >= 2 * open.length || sofar.reports.length >= 30, 1_000);

      expect(later).toMatchObject({ published: 2 * open.length, parked: 0, duplicates: 0, caughtUp: false });
      await expectDeliveredOnceInOrder(h, open, 1);
    });
  });
});
