import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../core/db';
import { createEventStore, DuplicateEventError } from '../../core/eventstore';
import { connectNats, uniqueJetStream } from '../support/natsTesting';
import { startOnTheOldSchema, type OldOutbox } from './oldOutbox';

const { prefix } = uniqueJetStream();
let old: OldOutbox;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats();
  old = await startOnTheOldSchema(nc, prefix);
});

afterAll(async () => {
  await nc.close();
  await old.close();
});

describe('an event appended again under its own id after the upgrade from the per-event outbox', () => {
  it('is refused as a duplicate event, also while the old outbox keeps the row it published the event from', async () => {
    const [published = ''] = await old.appendTheOldWay('account-a', 0, ['AccountOpened']);
    const [unrouted = ''] = await old.appendTheOldWay('account-b', 0, ['AccountOpened'], false);
    // What the old publisher wrote once JetStream had the event.
    await old.db.query('UPDATE outbox SET published_at = now() WHERE event_id = $1', [published]);
    await migrate(old.db);
    const store = createEventStore(old.db);
    const again = (streamId: string, eventId: string) =>
      store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'any', events: [{ eventId, type: 'AccountOpened', data: { amount: 1 } }] });

    await expect(again('account-b', unrouted)).rejects.toBeInstanceOf(DuplicateEventError);
    // The old outbox's row of a published event has the event's id as its message id: it is the event, not another message.
    expect((await old.db.query('SELECT 1 FROM outbox WHERE message_id = $1', [published])).rowCount).toBe(1);
    await expect(again('account-a', published)).rejects.toBeInstanceOf(DuplicateEventError);
  });
});
