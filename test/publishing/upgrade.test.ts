import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, DEFAULT_MIGRATIONS_DIRECTORY, migrate, type Db } from '../../core/db';
import { createEventStore } from '../../core/eventstore';
import { createPublisher, eventRouting, listParkedMessages } from '../../core/publishing';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { nothingWaits } from './publishingHarness';

const { name: streamName, prefix } = uniqueJetStream();
let database: TestDatabase;
let db: Db;
let nc: NatsConnection;
let oldMigrations: string;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  db = createPgDb({ connectionString: database.url, max: 4 });
  nc = await connectNats();
  // The schema as it was before publishing moved to the feed: migrations up to 0011.
  oldMigrations = await mkdtemp(path.join(tmpdir(), 'migrations-'));
  for (const name of (await readdir(DEFAULT_MIGRATIONS_DIRECTORY)).filter((file) => file < '0012')) {
    await copyFile(path.join(DEFAULT_MIGRATIONS_DIRECTORY, name), path.join(oldMigrations, name));
  }
  await migrate(db, { directory: oldMigrations });
  await jetstreamManager(nc).then((jsm) => jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`] }));
});

afterAll(async () => {
  await deleteJetStream(nc, streamName);
  await nc.close();
  await db.close();
  await database.drop();
  await rm(oldMigrations, { recursive: true, force: true });
});

/** An append as the old code made it: events and their outbox rows, in one call of the old function. */
async function appendTheOldWay(streamId: string, expectedVersion: number, types: string[], routed = true): Promise<string[]> {
  const events = types.map((type) => ({
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data: { amount: 1 },
    metadata: {},
    ...(routed ? { subject: `${prefix}.account.${type}` } : {}),
  }));
  await db.query(`SELECT * FROM ${routed ? 'append_to_stream_with_outbox' : 'append_to_stream'}($1, 'account', 'exact', $2, $3::jsonb)`, [
    streamId,
    expectedVersion,
    JSON.stringify(events),
  ]);
  return events.map((event) => event.eventId);
}

/** What the old publisher did with a row: send it with its event id as message id, then mark it. */
async function publishTheOldWay(eventId: string): Promise<void> {
  const { rows } = await db.query<{ subject: string; payload: string; headers: Record<string, string> }>(
    'SELECT subject, payload::text AS payload, headers FROM outbox WHERE event_id = $1',
    [eventId],
  );
  const row = rows[0];
  if (!row) throw new Error(`no outbox row for ${eventId}`);
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(row.headers)) headers.set(name, value);
  await jetstream(nc).publish(row.subject, row.payload, { msgID: eventId, headers });
  await db.query('UPDATE outbox SET published_at = now() WHERE event_id = $1', [eventId]);
}

describe('upgrading from the per-event outbox to publishing from the feed', () => {
  it('publishes each event the old outbox still held exactly once, none it had published, then new events behind them', async () => {
    const [a1 = '', a2 = '', a3 = ''] = await appendTheOldWay('account-a', 0, ['AccountOpened', 'MoneyDeposited', 'MoneyDeposited']);
    const [b1 = '', b2 = ''] = await appendTheOldWay('account-b', 0, ['AccountOpened', 'MoneyDeposited']);
    const [c1 = ''] = await appendTheOldWay('account-c', 0, ['AccountOpened']);
    await appendTheOldWay('account-a', 3, ['MoneyWithdrawn'], false);
    await publishTheOldWay(a1);
    await publishTheOldWay(a2);
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
