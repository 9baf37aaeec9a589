import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  AppendNotFirstWriteError,
  appendToStream,
  EventStoreOptionsError,
  EventValidationError,
  MAX_APPEND_BYTES,
  MAX_NAME_LENGTH,
  createEventStore,
  type AppendRequest,
} from '../../core/eventstore';
import { describeOnEachDriver } from '../support/describeOnEachDriver';
import { deposited, opened, uniqueStreamId } from '../support/fixtures';

/** Builds a request the type system would refuse, as input from outside often is. */
const untyped = (request: Record<string, unknown>) => request as unknown as AppendRequest;

describeOnEachDriver('bad input', (context) => {
  const countRows = async () => {
    const { rows } = await context().db.query<{ events: number; outbox: number }>(
      'SELECT (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM outbox) AS outbox',
    );
    return rows[0];
  };

  const rejectsWith = async (request: AppendRequest, ...expectedIssues: { path: string; message: RegExp }[]) => {
    const before = await countRows();
    const error = await context().store.appendToStream(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventValidationError);
    const issues = (error as EventValidationError).issues;
    for (const expected of expectedIssues) {
      expect(issues).toContainEqual({ path: expected.path, message: expect.stringMatching(expected.message) as string });
    }
    expect(await countRows()).toEqual(before);
  };

  const valid = (): AppendRequest => ({
    streamId: uniqueStreamId(),
    streamType: 'account',
    expectedVersion: 'any',
    events: [opened()],
  });

  const message = (overrides: Record<string, unknown> = {}) => ({ subject: 'bank.notices.sent', orderingKey: 'acc-1', body: { amount: 10 }, ...overrides });

  it('refuses an empty stream id', async () => {
    await rejectsWith({ ...valid(), streamId: '' }, { path: 'streamId', message: /must not be empty/ });
  });

  it('refuses an over-long stream id', async () => {
    await rejectsWith(
      { ...valid(), streamId: 'x'.repeat(MAX_NAME_LENGTH + 1) },
      { path: 'streamId', message: /at most 200 characters/ },
    );
  });

  it('refuses a payload that is not an object', async () => {
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'MoneyDeposited', data: [1, 2] }] }), {
      path: 'events.0.data',
      message: /plain JSON object/,
    });
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'MoneyDeposited', data: 'ten' }] }), {
      path: 'events.0.data',
      message: /plain JSON object/,
    });
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'MoneyDeposited', data: null }] }), {
      path: 'events.0.data',
      message: /plain JSON object/,
    });
  });

  it('refuses a message body that is not a plain object, as it refuses such event data: a Map would be stored as {}', async () => {
    await rejectsWith(untyped({ ...valid(), messages: [message({ body: new Map([['amount', 10]]) })] }), {
      path: 'messages.0.body',
      message: /plain JSON object/,
    });
    await rejectsWith(untyped({ ...valid(), messages: [message({ body: new Set([10]) })] }), {
      path: 'messages.0.body',
      message: /plain JSON object/,
    });
  });

  it('refuses a header value with a space at either end, which NATS would trim: the value sent must be the value appended', async () => {
    for (const value of [' leading', 'trailing ', ' ']) {
      await rejectsWith({ ...valid(), messages: [message({ headers: { 'Source-System': value } })] }, {
        path: 'messages.0.headers.Source-System',
        message: /space at either end/,
      });
    }
  });

  it('refuses a Map or a Set anywhere inside event data or a message body, which JSON would store as {}', async () => {
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'Tagged', data: { tags: new Map([['vip', true]]) } }] }), {
      path: 'events.0.data.tags',
      message: /Map or a Set/,
    });
    await rejectsWith(untyped({ ...valid(), messages: [message({ body: { lines: [{ ids: new Set([1, 2]) }] } })] }), {
      path: 'messages.0.body.lines.0.ids',
      message: /Map or a Set/,
    });
  });

  it('refuses NaN or Infinity anywhere inside event data or a message body, which JSON would store as null', async () => {
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'Deposited', data: { amount: Number.NaN } }] }), { path: 'events.0.data.amount', message: /NaN or Infinity/ });
    // Boxed, as JSON unboxes it before it writes null.
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'Deposited', data: { amount: Object(Number.NaN) as unknown } }] }), { path: 'events.0.data.amount', message: /NaN or Infinity/ });
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'Deposited', data: { amount: runInNewContext('new Number(NaN)') as unknown } }] }), { path: 'events.0.data.amount', message: /NaN or Infinity/ });
    await rejectsWith(untyped({ ...valid(), messages: [message({ body: { rates: [1, Number.POSITIVE_INFINITY] } })] }), { path: 'messages.0.body.rates.1', message: /NaN or Infinity/ });
    // null itself is a value JSON keeps.
    const request = untyped({ ...valid(), events: [{ type: 'Deposited', data: { amount: 5, note: null } }] });
    await context().store.appendToStream(request);
    expect((await context().store.readStream(request.streamId)).events[0]?.data).toEqual({ amount: 5, note: null });
  });

  it('refuses text its published headers would carry with a line break or a space at either end, which NATS refuses or trims', async () => {
    const problem = /carried in a NATS header/;
    await rejectsWith({ ...valid(), streamId: 'acc\n1' }, { path: 'streamId', message: problem });
    await rejectsWith({ ...valid(), streamId: 'acc-1 ' }, { path: 'streamId', message: problem });
    await rejectsWith(untyped({ ...valid(), events: [{ type: 'Opened\r', data: {} }] }), { path: 'events.0.type', message: problem });
    await rejectsWith({ ...valid(), metadata: { correlationId: 'line1\nline2' } }, { path: 'events.0.metadata.correlationId', message: problem });
    await rejectsWith({ ...valid(), events: [{ ...opened(), metadata: { traceparent: ' 00-abc' } }] }, { path: 'events.0.metadata.traceparent', message: problem });
    for (const streamId of ['acc-1\u00a0', 'acc-1\t', '\u3000acc-1']) await rejectsWith({ ...valid(), streamId }, { path: 'streamId', message: problem });
  });

  it('stores a value that writes itself with toJSON as what it writes, a Map or a Set inside it or behind it included', async () => {
    class Tags extends Set<string> {
      toJSON() {
        return [...this];
      }
    }
    class Money {
      readonly rates = new Map([['EUR', 1]]);
      constructor(readonly amount: number) {}
      toJSON() {
        return { amount: this.amount };
      }
    }
    const request = untyped({ ...valid(), events: [{ type: 'Priced', data: { extra: {}, tags: new Tags(['a', 'b']), price: new Money(5) } }] });
    await context().store.appendToStream(request);
    const [stored] = (await context().store.readStream(request.streamId)).events;
    expect(stored?.data).toEqual({ extra: {}, tags: ['a', 'b'], price: { amount: 5 } });
  });

  it('refuses two messages of one append with the same message id, naming the second', async () => {
    const messageId = '01890a5d-ac96-774b-bcce-b302099a8057';
    await rejectsWith({ ...valid(), messages: [message({ messageId }), message({ messageId })] }, {
      path: 'messages.1.messageId',
      message: /same as messages.0/,
    });
  });

  it('refuses a message on a subject NATS keeps for itself ($JS, $KV, $O, $SYS, _INBOX), where a publish is an API call or a reply', async () => {
    for (const subject of ['$JS.API.STREAM.PURGE.EVENTS', '$KV.settings.limit', '$SYS.REQ.SERVER.PING', '$O.files.C.chunk', '_INBOX.reply']) {
      await rejectsWith({ ...valid(), messages: [message({ subject })] }, { path: 'messages.0.subject', message: /reserved for NATS/ });
    }
  });

  it('refuses data that cannot be stored as JSON', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await rejectsWith({ ...valid(), events: [{ type: 'X', data: circular }] }, {
      path: 'events.0.data',
      message: /not JSON-serializable/,
    });
    await rejectsWith({ ...valid(), events: [{ type: 'X', data: { amount: 10n } }] }, {
      path: 'events.0.data',
      message: /not JSON-serializable/,
    });
    await rejectsWith({ ...valid(), events: [{ type: 'X', data: { note: 'a\u0000b' } }] }, {
      path: 'events.0.data',
      message: /NUL character/,
    });
  });

  it('refuses text PostgreSQL cannot store: a lone UTF-16 surrogate anywhere, a NUL in a name', async () => {
    const loneSurrogate = /lone UTF-16 surrogate/;
    await rejectsWith({ ...valid(), events: [{ type: 'X', data: { note: 'a\ud800b' } }] }, { path: 'events.0.data', message: loneSurrogate });
    await rejectsWith({ ...valid(), events: [{ type: 'X', data: { ['key\udc00']: 1 } }] }, { path: 'events.0.data', message: loneSurrogate });
    await rejectsWith(
      { ...valid(), metadata: { correlationId: 'a\udfff' } },
      { path: 'events.0.metadata', message: loneSurrogate },
    );
    await rejectsWith({ ...valid(), events: [{ type: 'X', data: {}, metadata: { note: '\u0000' } }] }, {
      path: 'events.0.metadata',
      message: /NUL character/,
    });
    await rejectsWith(
      { ...valid(), streamId: `account-\ud800`, streamType: 'acc\u0000ount', events: [{ type: 'Opened\udbff', data: {} }] },
      { path: 'streamId', message: loneSurrogate },
      { path: 'streamType', message: /NUL character/ },
      { path: 'events.0.type', message: loneSurrogate },
    );
  });

  it('stores what only looks like such text: a surrogate pair, a backslash followed by "u0000"', async () => {
    const data = { emoji: '\ud83d\ude00', escaped: '\\u0000 and \\ud800' };
    const { streamId } = valid();
    await context().store.appendToStream({ ...valid(), streamId, events: [{ type: 'X', data }] });
    expect((await context().store.readStream(streamId)).events[0]?.data).toEqual(data);
  });

  it('refuses data whose toJSON makes it something other than a JSON object', async () => {
    const disguised = { amount: 10, toJSON: () => [10] };
    await rejectsWith({ ...valid(), events: [{ type: 'MoneyDeposited', data: disguised }] }, { path: 'events.0.data', message: /JSON object/ });
    await rejectsWith(untyped({ ...valid(), metadata: { toJSON: () => 5 } }), { path: 'events.0.metadata', message: /JSON object/ });
  });

  it('refuses a command record that the database would: an empty or over-long command id, NUL in an id, no payload hash', async () => {
    const record = { commandId: 'cmd-1', commandType: 'Deposit', payloadHash: 'abc' };
    await rejectsWith({ ...valid(), idempotency: { ...record, commandId: '' } }, { path: 'idempotency.commandId', message: /must not be empty/ });
    await rejectsWith({ ...valid(), idempotency: { ...record, commandId: 'c'.repeat(MAX_NAME_LENGTH + 1) } }, { path: 'idempotency.commandId', message: /at most 200/ });
    await rejectsWith({ ...valid(), idempotency: { ...record, correlationId: 'a\u0000b' } }, { path: 'idempotency.correlationId', message: /NUL/ });
    await rejectsWith(untyped({ ...valid(), idempotency: { commandId: 'cmd-2', commandType: 'Deposit' } }), { path: 'idempotency.payloadHash', message: /string/ });
  });

  it('refuses an event over the size limit, and the limit is configurable', async () => {
    const big = { type: 'Blob', data: { text: 'x'.repeat(300 * 1024) } };
    await rejectsWith({ ...valid(), events: [opened(), big] }, { path: 'events.1', message: /over the limit of 262144/ });

    const strict = createEventStore(context().db, { maxEventBytes: 100 });
    const small = { type: 'Blob', data: { text: 'x'.repeat(120) } };
    await expect(strict.appendToStream({ ...valid(), events: [small] })).rejects.toBeInstanceOf(EventValidationError);
    const roomy = createEventStore(context().db, { maxEventBytes: 1024 * 1024 });
    await expect(roomy.appendToStream({ ...valid(), events: [big] })).resolves.toMatchObject({ nextExpectedVersion: 1 });
  });

  it('refuses a size limit that is not a whole number of bytes from 1 to the append limit, when the store is made', async () => {
    // NaN and Infinity compare false with every size, so they would switch the limit off.
    for (const maxEventBytes of [Number.NaN, Number.POSITIVE_INFINITY, 0, -1, 2.5, MAX_APPEND_BYTES + 1]) {
      expect(() => createEventStore(context().db, { maxEventBytes })).toThrow(EventStoreOptionsError);
    }
    expect(() => createEventStore(context().db, { maxEventBytes: MAX_APPEND_BYTES })).not.toThrow();
    // appendToStream takes the limit too: refused at the append, which writes nothing.
    const before = await countRows();
    await expect(appendToStream(context().db, valid(), { maxEventBytes: Number.NaN })).rejects.toBeInstanceOf(EventStoreOptionsError);
    expect(await countRows()).toEqual(before);
  });

  it('refuses options that are no object, or an upcaster that is none, when the store is made and at the append, writing nothing', async () => {
    for (const options of [null, 'strict', { upcaster: {} }, { upcaster: { upcast: (event: unknown) => event } }]) {
      expect(() => createEventStore(context().db, options as never), JSON.stringify(options)).toThrow(EventStoreOptionsError);
    }
    const before = await countRows();
    await expect(appendToStream(context().db, valid(), null as never)).rejects.toBeInstanceOf(EventStoreOptionsError);
    await expect(appendToStream(context().db, valid(), { upcaster: {} } as never)).rejects.toBeInstanceOf(EventStoreOptionsError);
    expect(await countRows()).toEqual(before);
  });

  it('lists every problem at once', async () => {
    const before = await countRows();
    const error = await context()
      .store.appendToStream(
        untyped({
          streamId: '',
          streamType: '',
          expectedVersion: -1,
          events: [{ type: '', data: 1, eventId: 'not-a-uuid' }],
        }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).issues.map((issue) => issue.path).sort()).toEqual([
      'events.0.data',
      'events.0.eventId',
      'events.0.type',
      'expectedVersion',
      'streamId',
      'streamType',
    ]);
    expect(await countRows()).toEqual(before);
  });

  it('refuses an append without events', async () => {
    await rejectsWith({ ...valid(), events: [] }, { path: 'events', message: /at least one event/ });
  });

  it('refuses a hole in the events or the messages, which is no event or message', async () => {
    await rejectsWith(untyped({ ...valid(), events: new Array(1) }), { path: 'events.0', message: /.+/ });
    // eslint-disable-next-line no-sparse-arrays -- the hole is the input under test
    await rejectsWith(untyped({ ...valid(), events: [opened(), , deposited(5)] }), { path: 'events.1', message: /.+/ });
    await rejectsWith(untyped({ ...valid(), messages: new Array(1) }), { path: 'messages.0', message: /.+/ });
  });

  it('refuses ids or trace context longer than the headers JetStream stores can carry, where the publisher could only park the event', async () => {
    const tooLong = /JetStream stores at most 65535/;
    await rejectsWith({ ...valid(), metadata: { causationId: 'c'.repeat(70_000) } }, { path: 'events.0.metadata', message: tooLong });
    await rejectsWith({ ...valid(), events: [{ ...opened(), metadata: { tracestate: 'vendor=x,'.repeat(4_000), commandId: 'c'.repeat(40_000) } }] }, {
      path: 'events.0.metadata',
      message: tooLong,
    });
    // Non-ASCII text counts in UTF-8 bytes, as NATS sends it.
    await rejectsWith({ ...valid(), metadata: { causationId: 'é'.repeat(33_000) } }, { path: 'events.0.metadata', message: tooLong });
    // What fits is stored, counted exactly even where three bytes a character would not fit.
    const stored = await context().store.appendToStream({ ...valid(), metadata: { causationId: 'c'.repeat(30_000), tracestate: 't'.repeat(30_000) } });
    expect(stored.events).toHaveLength(1);
    const nearTheLimit = await context().store.appendToStream({ ...valid(), metadata: { causationId: 'c'.repeat(60_000), commandId: 'd'.repeat(999), tracestate: 't'.repeat(999) } });
    expect(nearTheLimit.events).toHaveLength(1);
  });

  it('refuses header metadata that is not text, which the publisher would send as the JSON the database writes out', async () => {
    const notText = /must be a string/;
    await rejectsWith(untyped({ ...valid(), metadata: { tracestate: new Array(250).fill(1e300) } }), { path: 'events.0.metadata.tracestate', message: notText });
    await rejectsWith(untyped({ ...valid(), metadata: { causationId: 42, commandId: { id: 1 } } }), { path: 'events.0.metadata.causationId', message: notText }, { path: 'events.0.metadata.commandId', message: notText });
    const stored = await context().store.appendToStream(untyped({ ...valid(), metadata: { causationId: null } }));
    expect(stored.events).toHaveLength(1);
  });

  it('refuses a request with no events field, or none at all, as a rejected promise', async () => {
    const withoutEvents: Record<string, unknown> = { ...valid() };
    delete withoutEvents.events;
    await rejectsWith(untyped(withoutEvents), { path: 'events', message: /.+/ });
    const before = await countRows();
    let thrown: unknown;
    const refused = (() => {
      try {
        return context().store.appendToStream(untyped(null as unknown as Record<string, unknown>));
      } catch (error) {
        thrown = error;
        return undefined;
      }
    })();
    expect(thrown).toBeUndefined();
    await expect(refused).rejects.toBeInstanceOf(EventValidationError);
    expect(await countRows()).toEqual(before);
  });

  it('refuses a message with a misspelled field, whose value would be dropped: its headers, or its id', async () => {
    const headers = { 'Source-System': 'ledger' };
    await rejectsWith(untyped({ ...valid(), messages: [message({ header: headers })] }), {
      path: 'messages.0.header',
      message: /no field of a message, which has subject, body, orderingKey, headers, messageId/,
    });
    await rejectsWith(untyped({ ...valid(), messages: [message(), message({ messageID: crypto.randomUUID() })] }), {
      path: 'messages.1.messageID',
      message: /would be dropped/,
    });
  });

  it('refuses messages that are not a list', async () => {
    await rejectsWith(untyped({ ...valid(), messages: message() }), { path: 'messages', message: /.+/ });
  });

  it('refuses a message whose id is the id of an event of the same append: JetStream would keep only one of the two', async () => {
    const eventId = '01890a5d-ac96-774b-bcce-b302099a8058';
    await rejectsWith({ ...valid(), events: [{ ...opened(), eventId }], messages: [message({ messageId: eventId })] }, {
      path: 'messages.0.messageId',
      message: /same as events.0's event id/,
    });
  });

  it('refuses a message whose id is the id of an event another append stored: JetStream would keep only one of the two', async () => {
    const stored = await context().store.appendToStream(valid());
    const eventId = stored.events[0]?.eventId.toUpperCase();
    await rejectsWith({ ...valid(), messages: [message(), message({ messageId: eventId })] }, { path: 'messages.1.messageId', message: /id of a stored event: JetStream would keep only one/ });
  });

  it('refuses a message whose id is the id of a message another append stored, naming that message', async () => {
    const messageId = crypto.randomUUID();
    await context().store.appendToStream({ ...valid(), messages: [message({ messageId })] });
    await rejectsWith({ ...valid(), messages: [message(), message({ messageId: messageId.toUpperCase() })] }, {
      path: 'messages.1.messageId',
      message: /id of a stored integration message: JetStream would keep only one/,
    });
  });

  it('refuses an event id the caller chose that is the id of a message another append stored, at any expected version', async () => {
    const messageId = crypto.randomUUID();
    await context().store.appendToStream({ ...valid(), messages: [message({ messageId })] });
    const taken = { path: 'events.1.eventId', message: /id of a stored integration message: JetStream would keep only one/ };
    await rejectsWith({ ...valid(), events: [opened(), { ...deposited(5), eventId: messageId }] }, taken);
    await rejectsWith({ ...valid(), expectedVersion: 'no_stream', events: [opened(), { ...deposited(5), eventId: messageId }] }, taken);
  });

  it('refuses an append that is not the first write of its transaction, writing nothing', async () => {
    const streamId = uniqueStreamId();
    const before = await countRows();
    const attempt = context().db.transaction(async (tx) => {
      await tx.query("CREATE TEMP TABLE scratch (id int) ON COMMIT DROP; INSERT INTO scratch VALUES (1)");
      return context().store.appendToStream({ ...valid(), streamId }, tx);
    });
    await expect(attempt).rejects.toBeInstanceOf(AppendNotFirstWriteError);
    expect(await countRows()).toEqual(before);
  });

  describe('the database itself refuses a stream that breaks its rules, even from SQL that skips the store', () => {
    const appendBySql = (streamId: string, streamType: string) =>
      context().db.query(
        "INSERT INTO events (stream_id, stream_type, version, event_id, type, data) VALUES ($1, $2, 1, $3, 'AccountOpened', '{}')",
        [streamId, streamType, crypto.randomUUID()],
      );

    it.each([
      ['an empty stream id', '', 'account'],
      ['a stream id over the length limit', 'x'.repeat(MAX_NAME_LENGTH + 1), 'account'],
      ['an empty stream type', uniqueStreamId(), ''],
    ])('%s', async (_, streamId, streamType) => {
      const before = await countRows();
      await expect(appendBySql(streamId, streamType)).rejects.toThrow(/stream_name/);
      expect(await countRows()).toEqual(before);
    });

    it('a stream id at the length limit is accepted', async () => {
      const unique = uniqueStreamId();
      const atLimit = unique + 'x'.repeat(MAX_NAME_LENGTH - unique.length);
      await expect(appendBySql(atLimit, 'account')).resolves.toMatchObject({ rowCount: 1 });
    });
  });
});

describeOnEachDriver('append-only events', (context) => {
  const seed = async () => {
    const streamId = uniqueStreamId();
    await context().store.appendToStream({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), deposited(10)],
    });
    return streamId;
  };

  describe('the database itself refuses to change a stored event', () => {
    it('UPDATE fails', async () => {
      const streamId = await seed();
      await expect(
        context().db.query(`UPDATE events SET data = '{"amount": 1000}' WHERE stream_id = $1`, [streamId]),
      ).rejects.toThrow(/append-only: UPDATE/);
      const events = (await context().store.readStream(streamId)).events;
      expect(events[1]?.data).toEqual({ amount: 10 });
    });

    it('DELETE fails', async () => {
      const streamId = await seed();
      await expect(context().db.query('DELETE FROM events WHERE stream_id = $1', [streamId])).rejects.toThrow(
        /append-only: DELETE/,
      );
      expect((await context().store.readStream(streamId)).events).toHaveLength(2);
    });

    it('TRUNCATE fails', async () => {
      const streamId = await seed();
      await expect(context().db.query('TRUNCATE events')).rejects.toThrow(/append-only: TRUNCATE/);
      expect((await context().store.readStream(streamId)).events).toHaveLength(2);
    });
  });
});
