import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../core/db';
import { createEventStore, EventValidationError, MAX_CHOSEN_IDS, type AppendRequest, type IntegrationMessage } from '../../core/eventstore';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);

const notice = (streamId: string, n: number, messageId?: string): IntegrationMessage => ({
  subject: 'bank.notices.sent',
  orderingKey: streamId,
  body: { n },
  ...(messageId === undefined ? {} : { messageId }),
});

/** An account opened with `events - 1` deposits after it, and `messages` notices; the first `eventIds` events and `messageIds` messages carry ids of their own. */
function appendOf(shape: { events: number; messages: number; eventIds: number; messageIds: number }): AppendRequest<AccountEvent> {
  const streamId = uniqueStreamId();
  return {
    streamId,
    streamType: 'account',
    expectedVersion: 'no_stream',
    events: Array.from({ length: shape.events }, (_, n) => ({ ...(n === 0 ? opened() : deposited(n)), ...(n < shape.eventIds ? { eventId: crypto.randomUUID() } : {}) })),
    messages: Array.from({ length: shape.messages }, (_, n) => notice(streamId, n, n < shape.messageIds ? crypto.randomUUID() : undefined)),
  };
}

/** The advisory locks an append held at its end, counted in its own transaction before it commits. */
async function locksHeldBy(request: AppendRequest<AccountEvent>): Promise<number> {
  return db().transaction(async (tx: Queryable) => {
    await createEventStore(db()).appendToStream(request, tx);
    const { rows } = await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
    return rows[0]?.n ?? -1;
  });
}

const stored = async (streamId: string) => {
  const { rows } = await db().query<{ events: number; messages: number }>(
    'SELECT (SELECT count(*)::int FROM events WHERE stream_id = $1) AS events, (SELECT count(*)::int FROM outbox WHERE ordering_key = $1) AS messages',
    [streamId],
  );
  return rows[0];
};

describe('the ids an append locks to claim them as JetStream message ids', () => {
  it('given events and messages whose ids the store makes, when they are appended, then the append locks its stream only, however many there are', async () => {
    const request = appendOf({ events: 20, messages: 3_000, eventIds: 0, messageIds: 0 });

    expect(await locksHeldBy(request)).toBe(1);
    expect(await stored(request.streamId)).toEqual({ events: 20, messages: 3_000 });
  });

  it('given ids the caller chose, when they are appended, then each is locked, beside the stream', async () => {
    const request = appendOf({ events: 20, messages: 30, eventIds: 7, messageIds: 11 });

    expect(await locksHeldBy(request)).toBe(1 + 7 + 11);
    expect(await stored(request.streamId)).toEqual({ events: 20, messages: 30 });
  });

  it(`given more than ${MAX_CHOSEN_IDS} ids the caller chose among an append's events and messages, then it is refused, writing nothing; ${MAX_CHOSEN_IDS} are stored`, async () => {
    const store = createEventStore(db());
    const over = appendOf({ events: 600, messages: MAX_CHOSEN_IDS - 600 + 1, eventIds: 600, messageIds: MAX_CHOSEN_IDS - 600 + 1 });
    const eventsOnly = appendOf({ events: MAX_CHOSEN_IDS + 1, messages: 0, eventIds: MAX_CHOSEN_IDS + 1, messageIds: 0 });
    const atTheLimit = appendOf({ events: 600, messages: MAX_CHOSEN_IDS - 600 + 50, eventIds: 600, messageIds: MAX_CHOSEN_IDS - 600 });

    const refusal = await store.appendToStream(over).then(() => undefined, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(EventValidationError);
    expect((refusal as EventValidationError).issues).toEqual([
      { path: 'messages', message: `${MAX_CHOSEN_IDS + 1} events and messages carry ids of their own, over the limit of ${MAX_CHOSEN_IDS} for one append: each is locked until the append commits` },
    ]);
    await expect(store.appendToStream(eventsOnly)).rejects.toMatchObject({ issues: [{ path: 'events', message: expect.stringMatching(new RegExp(`^${MAX_CHOSEN_IDS + 1} events and messages carry ids`)) as string }] });
    expect(await stored(over.streamId)).toEqual({ events: 0, messages: 0 });
    expect(await stored(eventsOnly.streamId)).toEqual({ events: 0, messages: 0 });

    await store.appendToStream(atTheLimit);
    expect(await stored(atTheLimit.streamId)).toEqual({ events: 600, messages: MAX_CHOSEN_IDS - 600 + 50 });
  });
});
