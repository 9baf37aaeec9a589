import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, type Db } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { createPublisher, eventRouting, listParkedMessages } from '../../core/publishing';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { startOnTheOldSchema, type OldOutbox } from './oldOutbox';
import { nothingWaits } from './publishingHarness';

const { name: streamName, prefix } = uniqueJetStream();
let old: OldOutbox;
let db: Db;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats();
  old = await startOnTheOldSchema(nc, prefix);
  db = old.db;
  await jetstreamManager(nc).then((jsm) => jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`] }));
});

afterAll(async () => {
  await deleteJetStream(nc, streamName);
  await nc.close();
  await old.close();
});

describe('upgrading from the per-event outbox to publishing from the feed', () => {
  it('publishes each event the old outbox still held exactly once, none it had published, then new events behind them', async () => {
    const [a1 = '', a2 = '', a3 = ''] = await old.appendTheOldWay('account-a', 0, ['AccountOpened', 'MoneyDeposited', 'MoneyDeposited']);
    const [b1 = '', b2 = ''] = await old.appendTheOldWay('account-b', 0, ['AccountOpened', 'MoneyDeposited']);
    const [c1 = ''] = await old.appendTheOldWay('account-c', 0, ['AccountOpened']);
    await old.appendTheOldWay('account-a', 3, ['MoneyWithdrawn'], false);
    await old.publishTheOldWay(a1);
    await old.publishTheOldWay(a2);
    await db.query("UPDATE outbox SET parked_at = now(), attempts = 5, last_error = 'refused' WHERE event_id = $1", [c1]);

    await migrate(db);
    const store = createEventStore(db);
    await store.appendToStream({ streamId: 'account-a', streamType: 'account', expectedVersion: 4, events: [{ type: 'MoneyDeposited', data: { amount: 5 } }] });

    // The app's routing then as now: withdrawals stay private.
    const routing = eventRouting({ prefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? null : undefined) });
    const publisher = createPublisher({ db, connect: () => connectNats(), routing, stream: { name: streamName }, subjectPrefix: prefix, retryHorizonMs: 60_000 });
    try {
      const totals = { published: 0, duplicates: 0 };
      // Another file's open transaction can hold the horizon back: run until the four arrive.
      for (let run = 0; run < 200 && !(totals.published >= 4 && (await nothingWaits(db))); run++) {
        const report = await publisher.run();
        totals.published += report.published;
        totals.duplicates += report.duplicates;
      }
      // a3, b1, b2 from what the old outbox held; a5 (version 5) from the feed; a4 is private, c1 parked.
      expect(totals).toEqual({ published: 4, duplicates: 0 });
    } finally {
      await publisher.close();
    }

    const stored = await readStoredMessages(nc, streamName);
    const byStream = (streamId: string) =>
      stored.filter((message) => message.header.get('Stream-Id') === streamId).map((message) => message.header.get('Stream-Version'));
    expect(byStream('account-a')).toEqual(['1', '2', '3', '5']);
    expect(byStream('account-b')).toEqual(['1', '2']);
    expect(byStream('account-c')).toEqual([]);
    expect(stored.map((message) => message.header.get('Nats-Msg-Id'))).toEqual(expect.arrayContaining([a1, a2, a3, b1, b2]));
    expect(await listParkedMessages(db)).toMatchObject([{ messageId: c1, source: 'events', orderingKey: 'account-c', refusals: 5, error: 'refused' }]);
  });
});
