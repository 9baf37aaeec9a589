import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../core/db';
import { createPublisher, eventRouting } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { sleep } from '../support/fixtures';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { startOnTheOldSchema, type OldOutbox } from './oldOutbox';

// The old outbox's published rows tell the events publisher which events went out
// before the upgrade. Retention must not delete one before the publisher is past
// its event: a row older than the retention may still be ahead of a partition held
// back by an earlier event.

const { name: streamName, prefix } = uniqueJetStream();
const fullStream = `${streamName}_FULL`;
const fullSubject = `${prefix}full.held`;
// Short, so that the test can wait until the old publishes are out of it, as they are in production after days.
const DUPLICATE_WINDOW_MS = 1_500;
let old: OldOutbox;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats();
  old = await startOnTheOldSchema(nc, prefix);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`], duplicate_window: nanos(DUPLICATE_WINDOW_MS) });
  // A full stream that discards new messages: what is sent there is refused, a refusal that passes once it has room.
  await jsm.streams.add({ name: fullStream, subjects: [fullSubject], max_msgs: 1, discard: DiscardPolicy.New });
  await jetstream(nc).publish(fullSubject, 'filler');
});

afterAll(async () => {
  await deleteJetStream(nc, streamName);
  await deleteJetStream(nc, fullStream);
  await nc.close();
  await old.close();
});

const oldRowsOf = async (eventIds: string[]) =>
  (await old.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY ($1::uuid[])', [eventIds])).rows[0]?.n;

describe('upgrading with old-outbox rows past their retention', () => {
  it('given events the old outbox published behind one it still held, when the held one is refused for a while, then each is published once and their rows go only after', async () => {
    const [a1 = ''] = await old.appendTheOldWay('account-a', 0, ['AccountOpened']);
    const [b1 = '', b2 = ''] = await old.appendTheOldWay('account-b', 0, ['AccountOpened', 'MoneyDeposited']);
    await old.publishTheOldWay(b1);
    await old.publishTheOldWay(b2);
    await old.db.query("UPDATE outbox SET created_at = now() - interval '2 days'");
    await migrate(old.db);
    // Readable by the first run, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(old.db);

    // account-a's event goes to the full stream: retried, never parked, holding its partition back.
    const routing = eventRouting({ prefix, subjectFor: (event) => (event.streamId === 'account-a' ? fullSubject : undefined) });
    const publisher = createPublisher({
      db: old.db,
      connect: () => connectNats(),
      routing,
      stream: { name: streamName, duplicateWindowMs: DUPLICATE_WINDOW_MS },
      subjectPrefix: prefix,
      partitions: 1,
      leaseTtlMs: 500,
      retryHorizonMs: 1_000,
      retryBackoff: { baseMs: 50, maxMs: 200 },
    });
    try {
      const held = await publisher.run({ deadline: Date.now() + 1_000 });
      expect(held).toMatchObject({ published: 0, parked: 0 });
      expect(held.retried).toBeGreaterThan(0);
      expect(await oldRowsOf([b1, b2])).toBe(2);

      await sleep(DUPLICATE_WINDOW_MS + 200);
      await jetstreamManager(nc).then((jsm) => jsm.streams.purge(fullStream));
      let published = 0;
      for (let run = 0; run < 50 && !(published >= 1 && (await oldRowsOf([b1, b2])) === 0); run++) {
        published += (await publisher.run({ deadline: Date.now() + 2_000 })).published;
        await sleep(50);
      }
      expect(published).toBe(1);
      expect(await oldRowsOf([b1, b2])).toBe(0);
      const stored = await readStoredMessages(nc, streamName);
      expect(stored.map((message) => message.header.get('Nats-Msg-Id')).filter((id) => id === b1 || id === b2)).toEqual([b1, b2]);
      expect(a1).not.toBe('');
    } finally {
      await publisher.close();
    }
  }, 20_000);
});
