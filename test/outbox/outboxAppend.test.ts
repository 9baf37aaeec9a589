import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { ConcurrencyError, createEventStore, EventValidationError, type EventStore } from '../../core/eventstore';
import { outboxRouting } from '../../core/outbox';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

interface OutboxRow {
  event_id: string;
  stream_id: string;
  stream_version: number;
  subject: string;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
}

let database: TestDatabase;
let db: Db;
let store: EventStore;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPgDb({ connectionString: database.url, max: 5 });
  store = createEventStore(db, {
    outbox: outboxRouting({
      prefix: 'bank',
      // Withdrawals stay private; everything else goes out on the default subject.
      subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? null : undefined),
    }),
  });
});

afterAll(async () => {
  await db.close();
  await database.drop();
});

const outboxOf = async (streamId: string) =>
  (await db.query<OutboxRow>('SELECT * FROM outbox WHERE stream_id = $1 ORDER BY id', [streamId])).rows;

describe('outbox rows written by the append', () => {
  it('given routed events, when appended, then each has an outbox row with its subject, envelope and headers', async () => {
    const streamId = uniqueStreamId();
    const result = await store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened('ada'), deposited(5)],
      metadata: { correlationId: 'corr-1', causationId: 'cause-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    const rows = await outboxOf(streamId);
    expect(rows.map((row) => [row.subject, row.stream_version, row.event_id])).toEqual([
      ['bank.account.AccountOpened', 1, result.events[0]?.eventId],
      ['bank.account.MoneyDeposited', 2, result.events[1]?.eventId],
    ]);
    expect(rows[1]?.payload).toMatchObject({
      eventId: result.events[1]?.eventId,
      type: 'MoneyDeposited',
      streamId,
      streamType: 'account',
      version: 2,
      globalPosition: result.events[1]?.globalPosition.toString(),
      data: { amount: 5 },
      metadata: { correlationId: 'corr-1', causationId: 'cause-1' },
    });
    expect(rows[1]?.headers).toEqual({
      'Event-Id': result.events[1]?.eventId,
      'Event-Type': 'MoneyDeposited',
      'Event-Schema-Version': '1',
      'Stream-Id': streamId,
      'Stream-Type': 'account',
      'Stream-Version': '2',
      'Correlation-Id': 'corr-1',
      'Causation-Id': 'cause-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it('keeps an event its routing declines out of the outbox', async () => {
    const streamId = uniqueStreamId();
    await store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), { type: 'MoneyWithdrawn', data: { amount: 1 } }, deposited(2)],
    });
    expect((await outboxOf(streamId)).map((row) => row.stream_version)).toEqual([1, 3]);
  });

  it('writes no outbox rows for a store without routing', async () => {
    const plain = createEventStore(db);
    const streamId = uniqueStreamId();
    await plain.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'any', events: [opened()] });
    expect(await outboxOf(streamId)).toEqual([]);
  });

  it('writes neither events nor outbox rows when the append is refused', async () => {
    const streamId = uniqueStreamId();
    await store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await expect(
      store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 0, events: [deposited(1)] }),
    ).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await outboxOf(streamId)).map((row) => row.stream_version)).toEqual([1]);
  });

  it('refuses an event whose subject NATS could not carry, and writes nothing', async () => {
    const streamId = uniqueStreamId();
    const error: unknown = await store
      .appendToStream({ streamId, streamType: 'savings account', expectedVersion: 'no_stream', events: [opened()] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues).toEqual([
      { path: 'events.0.subject', message: expect.stringContaining('without whitespace') as string },
    ]);
    const { rows } = await db.query('SELECT 1 FROM events WHERE stream_id = $1', [streamId]);
    expect(rows).toEqual([]);
  });

  it('gives concurrent appenders to one stream outbox rows in version order', async () => {
    const streamId = uniqueStreamId();
    await store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'any', events: [deposited(index + 1)] }),
      ),
    );
    const versions = (await outboxOf(streamId)).map((row) => row.stream_version);
    expect(versions).toEqual(Array.from({ length: 31 }, (_, index) => index + 1));
  });
});
