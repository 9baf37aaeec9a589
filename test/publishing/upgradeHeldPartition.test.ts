import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, type Db } from '../../core/db';
import { createPublisher, eventRouting, requeueParkedMessage, type Publisher } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { sleep } from '../support/fixtures';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { startOnTheOldSchema, type OldOutbox } from './oldOutbox';
import { runUntil } from './publishingHarness';

// After the upgrade, the events publisher starts just before the oldest event the old
// outbox still held. What the old outbox did with the events after it (published them,
// parked them) must keep them from going out again while an earlier event holds their
// partition back, also after the duplicate window, as it is in production after days.

const { name: streamName, prefix } = uniqueJetStream();
const fullStream = `${streamName}_FULL`;
const fullSubject = `${prefix}full.held`;
// Short, so that the test can wait until the old publishes are out of it.
const DUPLICATE_WINDOW_MS = 1_500;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`], duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
  // A full stream that discards new messages: what is sent there is refused, a refusal that passes once it has room.
  await jsm.streams.add({ name: fullStream, subjects: [fullSubject], max_msgs: 1, discard: DiscardPolicy.New });
});

afterAll(async () => {
  await deleteJetStream(nc, streamName);
  await deleteJetStream(nc, fullStream);
  await nc.close();
});

/** Given a database on the old schema and the full stream full, `given` writes the old way; then the database is upgraded. */
async function upgradedAfter<T>(given: (old: OldOutbox) => Promise<T>): Promise<{ old: OldOutbox; written: T }> {
  const old = await startOnTheOldSchema(nc, prefix);
  await jetstreamManager(nc).then((jsm) => jsm.streams.purge(fullStream));
  await jetstream(nc).publish(fullSubject, 'filler');
  const written = await given(old);
  await migrate(old.db);
  // Readable by the first run, whatever other files' transactions hold the feed's horizon back.
  await untilFeedHorizonPasses(old.db);
  return { old, written };
}

/** One partition, account-a's events routed to the full stream: retried, never parked, holding the partition back. */
const heldPublisher = (db: Db): Publisher =>
  createPublisher({
    db,
    connect: () => connectNats(),
    routing: eventRouting({ prefix, subjectFor: (event) => (event.streamId === 'account-a' ? fullSubject : undefined) }),
    stream: { name: streamName, duplicateWindowMs: DUPLICATE_WINDOW_MS },
    subjectPrefix: prefix,
    partitions: 1,
    leaseTtlMs: 500,
    retryHorizonMs: 1_400,
    publishTimeoutMs: 500,
    retryBackoff: { baseMs: 50, maxMs: 200 },
  });

/** Waits out the duplicate window, makes room in the full stream, and runs until `done`: the messages published. */
async function releasedUntil(publisher: Publisher, done: (published: number) => Promise<boolean>): Promise<number> {
  await sleep(DUPLICATE_WINDOW_MS + 200);
  await jetstreamManager(nc).then((jsm) => jsm.streams.purge(fullStream));
  let published = 0;
  for (let run = 0; run < 50 && !(await done(published)); run++) {
    published += (await publisher.run({ deadline: Date.now() + 2_000 })).published;
    await sleep(50);
  }
  return published;
}

const storedOf = async (eventIds: string[]) =>
  (await readStoredMessages(nc, streamName)).map((message) => message.header.get('Nats-Msg-Id')).filter((id) => eventIds.includes(id));

describe('upgrading while a partition is held back', () => {
  it('given events the old outbox published behind one it still held, then each is published once and their old rows go only after', async () => {
    const { old, written } = await upgradedAfter(async (before) => {
      await before.appendTheOldWay('account-a', 0, ['AccountOpened']);
      const [b1 = '', b2 = ''] = await before.appendTheOldWay('account-b', 0, ['AccountOpened', 'MoneyDeposited']);
      await before.publishTheOldWay(b1);
      await before.publishTheOldWay(b2);
      // Past the retention: only the publisher's checkpoint keeps them.
      await before.db.query("UPDATE outbox SET created_at = now() - interval '2 days'");
      return [b1, b2];
    });
    const oldRows = async () => (await old.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY ($1::uuid[])', [written])).rows[0]?.n;
    const publisher = heldPublisher(old.db);
    try {
      // Runs of a second each until one has tried (and been held back): a loaded runner may start a run late.
      const held = await runUntil(publisher, (totals) => totals.retried > 0, 1_000);
      expect(held).toMatchObject({ published: 0, parked: 0 });
      expect(await oldRows()).toBe(2);

      const published = await releasedUntil(publisher, async (sofar) => sofar >= 1 && (await oldRows()) === 0);

      expect(published).toBe(1);
      expect(await oldRows()).toBe(0);
      expect(await storedOf(written)).toEqual(written);
    } finally {
      await publisher.close();
      await old.close();
    }
  }, 20_000);

  it('given an event the old outbox had parked behind one it still held, when requeued, then it is sent once, after its partition has passed it', async () => {
    const { old, written: parked } = await upgradedAfter(async (before) => {
      await before.appendTheOldWay('account-a', 0, ['AccountOpened']);
      const [c1 = ''] = await before.appendTheOldWay('account-c', 0, ['AccountOpened']);
      await before.db.query("UPDATE outbox SET parked_at = now(), attempts = 5, last_error = 'refused' WHERE event_id = $1", [c1]);
      return c1;
    });
    const publisher = heldPublisher(old.db);
    try {
      expect(await publisher.run({ deadline: Date.now() + 500 })).toMatchObject({ published: 0 });
      // The cause of its refusal is fixed; a person requeues it while the partition is still held.
      expect(await requeueParkedMessage(old.db, parked)).toBe(true);
      expect(await publisher.run({ deadline: Date.now() + 500 })).toMatchObject({ published: 0, requeued: 0 });

      const published = await releasedUntil(publisher, async () => (await storedOf([parked])).length > 0);

      expect(published).toBe(2);
      expect(await storedOf([parked])).toEqual([parked]);
      // Past its window, another run sends nothing again.
      await sleep(DUPLICATE_WINDOW_MS + 200);
      expect(await publisher.run({ deadline: Date.now() + 1_000 })).toMatchObject({ published: 0 });
      expect(await storedOf([parked])).toEqual([parked]);
    } finally {
      await publisher.close();
      await old.close();
    }
  }, 20_000);
});
