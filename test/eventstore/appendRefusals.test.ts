import { describe, expect, it } from 'vitest';
import {
  CommandAlreadyRecordedError,
  ConcurrencyError,
  createEventStore,
  DuplicateEventError,
  EventValidationError,
  MAX_APPEND_BYTES,
  MAX_CHOSEN_IDS,
  StreamNotFoundError,
  type AppendRequest,
  type EventMetadata,
} from '../../core/eventstore';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';
import { WRITTEN_AT_TOP_LEVEL } from '../support/writtenAtTopLevel';

const db = usePooledTestDatabase(4);
const event = { type: 'Happened', data: {} };
const newStream = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

const refusalOf = (append: Promise<unknown>) => append.then(() => undefined, (error: unknown) => error);

/** Refused as bad input, with one issue at `path`: the append's text is over MAX_APPEND_BYTES. */
function expectOverOneAppend(error: unknown, path: 'events' | 'messages'): void {
  expect(error).toBeInstanceOf(EventValidationError);
  expect((error as EventValidationError).issues).toEqual([{ path, message: expect.stringContaining(`over the limit of ${MAX_APPEND_BYTES}`) as unknown }]);
}

describe('a conflict inside a caller\'s transaction', () => {
  it('reports the version that collided, whatever the stream id holds', async () => {
    const store = createEventStore(db());
    const streamId = `order ${crypto.randomUUID()}, 7) already exists`;
    await store.appendToStream({ streamId, streamType: 'order', expectedVersion: 'no_stream', events: [event] });

    const error = await refusalOf(db().transaction((tx) => store.appendToStream({ streamId, streamType: 'order', expectedVersion: 'no_stream', events: [event] }, tx)));

    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((error as ConcurrencyError).actualVersion).toBe(1);
  });
});

describe('an append whose correlation id the event browser could not index', () => {
  const tooLong = 'c'.repeat(201);

  it.each([
    ['in the metadata, too long', { metadata: { correlationId: tooLong } }, 'events.0.metadata.correlationId'],
    ['in the metadata, not a string', { metadata: { correlationId: { nested: tooLong } } }, 'events.0.metadata.correlationId'],
    ['in the metadata, null', { metadata: { correlationId: null } }, 'events.0.metadata.correlationId'],
    ['in the command record, too long', { idempotency: { commandId: crypto.randomUUID(), commandType: 'Do', payloadHash: 'h', correlationId: tooLong } }, 'idempotency.correlationId'],
  ] as const)('is refused as bad input and writes nothing: %s', async (_case, extra, path) => {
    const store = createEventStore(db());
    const streamId = newStream('correlated');
    const request = { streamId, streamType: 't', expectedVersion: 'no_stream', events: [event], ...extra } as AppendRequest;

    const error = await refusalOf(store.appendToStream(request));

    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues.map((issue) => issue.path)).toEqual([path]);
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('names and ids of characters outside the BMP (an emoji is two UTF-16 units)', () => {
  it('are taken up to 200 characters, as PostgreSQL and the command bus count them', async () => {
    const store = createEventStore(db());
    const twoHundred = '🙂'.repeat(200);
    const appended = await store.appendToStream({
      streamId: `${'🙂'.repeat(163)}${crypto.randomUUID()}`,
      streamType: twoHundred,
      expectedVersion: 'no_stream',
      events: [{ type: twoHundred, data: {} }],
      metadata: { correlationId: twoHundred },
    });
    expect(appended.events).toHaveLength(1);
    const tooLong = await refusalOf(store.appendToStream({ streamId: newStream('emoji'), streamType: 't', expectedVersion: 'no_stream', events: [event], metadata: { correlationId: `${twoHundred}!` } }));
    expect(tooLong).toBeInstanceOf(EventValidationError);
  });

  it('are counted the same when the request is parsed in full (an event with its own id), and so is an integration message\'s ordering key', async () => {
    const store = createEventStore(db());
    const twoHundred = '🙂'.repeat(200);
    const streamId = `${'🙂'.repeat(163)}${crypto.randomUUID()}`;
    const appended = await store.appendToStream({
      streamId,
      streamType: twoHundred,
      expectedVersion: 'no_stream',
      events: [{ type: twoHundred, data: {}, eventId: crypto.randomUUID() }],
      messages: [{ subject: 'bank.notices', orderingKey: twoHundred, body: {} }],
    });
    expect(appended.events).toHaveLength(1);
    const tooLong = await refusalOf(store.appendToStream({
      streamId: newStream('emoji'),
      streamType: 't',
      expectedVersion: 'no_stream',
      events: [{ ...event, eventId: crypto.randomUUID() }],
      messages: [{ subject: 'bank.notices', orderingKey: `${twoHundred}!`, body: {} }],
    }));
    expect(tooLong).toBeInstanceOf(EventValidationError);
    expect((tooLong as EventValidationError).issues.map((issue) => issue.path)).toEqual(['messages.0.orderingKey']);
  });
});

describe('a batch whose events each fit but together exceed one append', () => {
  it('is refused as bad input at `events`, before the database', async () => {
    const store = createEventStore(db());
    const blob = 'x'.repeat(250_000);
    const count = Math.ceil(MAX_APPEND_BYTES / blob.length) + 1;
    const events = Array.from({ length: count }, (_, index) => ({ type: 'Chunk', data: { index, blob } }));
    const streamId = newStream('upload');

    const error = await refusalOf(store.appendToStream({ streamId, streamType: 'upload', expectedVersion: 'no_stream', events }));

    expectOverOneAppend(error, 'events');
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('a batch under MAX_APPEND_BYTES as text that is over PostgreSQL\'s 256 MiB as jsonb', () => {
  it('is refused as bad input at `events`, writing nothing', async () => {
    const store = createEventStore(db());
    // "1," is two bytes of text and about twelve of jsonb: some 300 MB, clear of the 256 MiB
    // cap. Meeting it costs PostgreSQL a few GB of memory for a few seconds.
    const ones = new Array<number>(125_000).fill(1);
    const events = Array.from({ length: 200 }, () => ({ type: 'Ones', data: { ones } }));
    expect(events.reduce((bytes, { data }) => bytes + JSON.stringify(data).length, 0)).toBeLessThan(MAX_APPEND_BYTES);
    const streamId = newStream('ones');

    const error = await refusalOf(store.appendToStream({ streamId, streamType: 'ones', expectedVersion: 'no_stream', events }));

    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues).toEqual([{ path: 'events', message: expect.stringContaining('PostgreSQL cannot store this append') as unknown }]);
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('integration messages that each fit but together with the events exceed one append', () => {
  it('are refused as bad input at `messages`, before the database, writing nothing', async () => {
    const store = createEventStore(db());
    const blob = 'x'.repeat(250_000);
    const count = Math.ceil(MAX_APPEND_BYTES / blob.length) + 1;
    const messages = Array.from({ length: count }, (_, index) => ({ subject: 'bank.uploads.chunk', orderingKey: 'upload', body: { index, blob } }));
    const streamId = newStream('upload');

    const error = await refusalOf(store.appendToStream({ streamId, streamType: 'upload', expectedVersion: 'no_stream', events: [{ type: 'UploadStarted', data: {} }], messages }));

    expectOverOneAppend(error, 'messages');
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('a stream_exists append refused inside a caller\'s transaction', () => {
  it('holds up no other writer of the stream while the caller goes on', async () => {
    const store = createEventStore(db());
    const streamId = newStream('missing');
    let callerDone: () => void = () => undefined;
    const callerGoesOn = new Promise<void>((resolve) => {
      callerDone = resolve;
    });
    let refused: (error: unknown) => void = () => undefined;
    const refusal = new Promise<unknown>((resolve) => {
      refused = resolve;
    });
    const caller = db().transaction(async (tx) => {
      refused(await refusalOf(store.appendToStream({ streamId, streamType: 't', expectedVersion: 'stream_exists', events: [event] }, tx)));
      await callerGoesOn;
    });
    try {
      expect(await refusal).toBeInstanceOf(StreamNotFoundError);
      // Had the refused append kept the stream's lock, this one would wait for the caller's end.
      const other = store.appendToStream({ streamId, streamType: 't', expectedVersion: 'no_stream', events: [event] });
      const stillWaiting = new Promise((resolve) => setTimeout(resolve, 15_000, 'still waiting'));
      expect(await Promise.race([other.then(() => 'appended'), stillWaiting])).toBe('appended');
    } finally {
      callerDone();
      await caller;
    }
    expect((await store.readStream(streamId)).events.map((stored) => stored.version)).toEqual([1]);
  });

  it('leaves the caller going on in its own transaction, not in the append\'s savepoint', async () => {
    const store = createEventStore(db());
    await db().query('CREATE TABLE IF NOT EXISTS caller_notes (note text)');
    const topLevel = await db().transaction(async (tx) => {
      await refusalOf(store.appendToStream({ streamId: newStream('missing'), streamType: 't', expectedVersion: 'stream_exists', events: [event] }, tx));
      await tx.query("INSERT INTO caller_notes VALUES ('after the refusal')");
      const { rows } = await tx.query<{ top: boolean }>(`SELECT ${WRITTEN_AT_TOP_LEVEL} AS top FROM caller_notes`);
      return rows[0]?.top;
    });
    expect(topLevel).toBe(true);
  });
});

describe('a command recorded already, resent with the integration message ids it derives from its command id', () => {
  it('is refused as the recorded command it is, not as a stored message id, and writes nothing', async () => {
    const store = createEventStore(db());
    const commandId = crypto.randomUUID();
    const idempotency = { commandId, commandType: 'Notify', payloadHash: 'h' };
    const messages = [{ messageId: commandId, subject: 'bank.notices', orderingKey: 'notices', body: {} }];
    await store.appendToStream({ streamId: newStream('first'), streamType: 't', expectedVersion: 'no_stream', events: [event], idempotency, messages });
    const second = newStream('second');

    const error = await refusalOf(store.appendToStream({ streamId: second, streamType: 't', expectedVersion: 'no_stream', events: [event], idempotency, messages }));

    expect(error).toBeInstanceOf(CommandAlreadyRecordedError);
    await expect(store.readStream(second)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('an expected version with no room after it for the events', () => {
  it.each([
    ['one event', 1],
    ['a batch', 2],
  ])('is refused as bad input at `expectedVersion`, before the database: %s', async (_case, count) => {
    const store = createEventStore(db());
    const events = Array.from({ length: count }, () => event);

    const error = await refusalOf(store.appendToStream({ streamId: newStream('full'), streamType: 't', expectedVersion: 2_147_483_647, events }));

    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues.map((issue) => issue.path)).toEqual(['expectedVersion']);
  });

  it.each(['any', 'stream_exists'] as const)('is refused as bad input at `expectedVersion` for a stream at its last version appended with %s, which only the database can tell', async (expectedVersion) => {
    const store = createEventStore(db());
    const streamId = newStream('full');
    // As 2^31 - 1 appends would leave it.
    await db().query(
      "INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version, data, metadata) VALUES ($1, 't', 2147483647, gen_random_uuid(), 'Happened', 1, '{}', '{}')",
      [streamId],
    );

    const error = await refusalOf(store.appendToStream({ streamId, streamType: 't', expectedVersion, events: [event] }));

    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues).toEqual([{ path: 'expectedVersion', message: "leaves no room for the events: a stream's versions end at 2147483647" }]);
    expect((await store.readStream(streamId)).events.map((stored) => stored.version)).toEqual([2_147_483_647]);
  });
});

describe('a batch of many small events whose names and ids make it larger than one append', () => {
  it('is refused as bad input at `events`, before the database', async () => {
    const store = createEventStore(db());
    const type = 'T'.repeat(200);
    const count = Math.ceil(MAX_APPEND_BYTES / type.length) + 1;
    const events = Array.from({ length: count }, () => ({ type, data: {} }));
    const streamId = newStream('many');

    const error = await refusalOf(store.appendToStream({ streamId, streamType: 't', expectedVersion: 'no_stream', events }));

    expectOverOneAppend(error, 'events');
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('metadata that writes itself with its own toJSON', () => {
  it('is refused as bad input: its header checks would not see what is stored', async () => {
    const store = createEventStore(db());
    const streamId = newStream('written');
    // The types refuse it; a JavaScript caller, or one past the types, does not.
    const metadata = { correlationId: 'fine', toJSON: () => ({ correlationId: 'a\nb' }) } as unknown as EventMetadata;

    const error = await refusalOf(store.appendToStream({ streamId, streamType: 't', expectedVersion: 'no_stream', events: [{ ...event, metadata }] }));

    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues.map((issue) => issue.path)).toEqual(['events.0.metadata.toJSON']);
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('two appends racing with the same caller-chosen event ids in opposite order', () => {
  it('store one of them; the other is refused as a duplicate, not a raw deadlock, and writes nothing', async () => {
    const store = createEventStore(db());
    // As many ids as one append may choose: both statements are then mid-insert at once, each waiting on an id the other holds.
    const ids = Array.from({ length: MAX_CHOSEN_IDS }, () => crypto.randomUUID());
    const streams = [newStream('forward'), newStream('backward')];
    const eventsOf = (order: readonly string[]) => order.map((eventId) => ({ ...event, eventId }));

    const outcomes = await Promise.allSettled([
      store.appendToStream({ streamId: streams[0] ?? '', streamType: 't', expectedVersion: 'no_stream', events: eventsOf(ids) }),
      store.appendToStream({ streamId: streams[1] ?? '', streamType: 't', expectedVersion: 'no_stream', events: eventsOf([...ids].reverse()) }),
    ]);

    const stored = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [streams[index] ?? ''] : []));
    const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(stored).toHaveLength(1);
    expect(refusals).toEqual([expect.any(DuplicateEventError)]);
    expect((await store.readStream(stored[0] ?? '')).events).toHaveLength(ids.length);
    const refused = streams.find((streamId) => !stored.includes(streamId)) ?? '';
    await expect(store.readStream(refused)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});
