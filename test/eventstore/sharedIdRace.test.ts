import { describe, expect, it } from 'vitest';
import { createEventStore, EventValidationError, type AppendRequest } from '../../core/eventstore';
import { deferred, opened, uniqueStreamId } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(4);
const message = (messageId: string) => ({ messageId, subject: 'bank.notices.sent', orderingKey: 'acc-1', body: { amount: 10 } });
const refusalOf = (append: Promise<unknown>) => append.then(() => undefined, (error: unknown) => error);

const eventWithId = (id: string): AppendRequest => ({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [{ ...opened(), eventId: id }] });
const messageWithId = (id: string): AppendRequest => ({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [message(id)] });

async function untilAnAppendWaits(): Promise<void> {
  for (;;) {
    const { rows } = await db().query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if ((rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The first append is held open in its transaction while the second, with the
 * same id, is sent; the first then ends (committed or rolled back). Returns
 * what the second append came to, and what the ids' rows hold afterwards.
 */
async function raceOnOneId(first: AppendRequest, second: AppendRequest, firstEnds: 'commit' | 'rollback') {
  const store = createEventStore(db());
  const held = deferred();
  const end = deferred();
  const firstAppend = db()
    .transaction(async (tx) => {
      await store.appendToStream(first, tx);
      held.resolve();
      await end.promise;
      if (firstEnds === 'rollback') throw new Error('rolled back on purpose');
    })
    .catch(() => undefined);
  await held.promise;
  const secondAppend = refusalOf(store.appendToStream(second));
  await Promise.race([untilAnAppendWaits(), secondAppend]);
  end.resolve();
  await firstAppend;
  const outcome = await secondAppend;
  const stored = async (streamId: string) => (await db().query('SELECT 1 FROM events WHERE stream_id = $1', [streamId])).rows.length;
  return { outcome, firstStored: await stored(first.streamId), secondStored: await stored(second.streamId) };
}

describe('an event id and an integration message id taken by two appends at once', () => {
  it('given an event with a chosen id not yet committed, when a message with that id is appended, then it waits and is refused once the event commits, writing nothing', async () => {
    const id = crypto.randomUUID();

    const { outcome, firstStored, secondStored } = await raceOnOneId(eventWithId(id), messageWithId(id), 'commit');

    expect(outcome).toBeInstanceOf(EventValidationError);
    expect((outcome as EventValidationError).issues).toEqual([{ path: 'messages.0.messageId', message: expect.stringMatching(/id of a stored event: JetStream would keep only one/) as string }]);
    expect([firstStored, secondStored]).toEqual([1, 0]);
    const { rows } = await db().query('SELECT 1 FROM outbox WHERE message_id = $1', [id]);
    expect(rows).toEqual([]);
  });

  it('given a message with a chosen id not yet committed, when an event with that id is appended, then it waits and is refused once the message commits', async () => {
    const id = crypto.randomUUID();

    const { outcome, firstStored, secondStored } = await raceOnOneId(messageWithId(id), eventWithId(id), 'commit');

    expect(outcome).toBeInstanceOf(EventValidationError);
    expect((outcome as EventValidationError).issues).toEqual([{ path: 'events.0.eventId', message: expect.stringMatching(/id of a stored integration message: JetStream would keep only one/) as string }]);
    expect([firstStored, secondStored]).toEqual([1, 0]);
  });

  it('given the first append rolls back, then the second, which waited for it, is stored', async () => {
    const id = crypto.randomUUID();

    const { outcome, firstStored, secondStored } = await raceOnOneId(eventWithId(id), messageWithId(id), 'rollback');

    expect(outcome).toBeUndefined();
    expect([firstStored, secondStored]).toEqual([0, 1]);
  });
});
