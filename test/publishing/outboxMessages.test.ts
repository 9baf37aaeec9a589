import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError, EventValidationError, type IntegrationMessage } from '../../core/eventstore';
import { listParkedMessages, readPublishingStatus, requeueParkedMessage } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { readStoredMessages } from '../support/natsTesting';
import { publishEverything, startPublishingHarness, type PublishingHarness } from './publishingHarness';

let harness: PublishingHarness;

beforeAll(async () => {
  harness = await startPublishingHarness();
});

afterAll(async () => {
  await harness.close();
});

const notice = (key: string, n: number): IntegrationMessage => ({
  subject: `${harness.subjectPrefix}.notices.sent`,
  orderingKey: key,
  body: { key, n },
  headers: { 'Notice-Number': String(n) },
});

/** The outbox's rows, or only those of the given ordering keys. */
const outboxRows = async (keys?: readonly string[]) =>
  (await harness.db.query<{ ordering_key: string; n: number }>(
    "SELECT ordering_key, (payload->>'n')::int AS n FROM outbox WHERE $1::text[] IS NULL OR ordering_key = ANY ($1) ORDER BY id",
    [keys ?? null],
  )).rows;

describe('integration messages in the outbox', () => {
  it('are written with the events that carry them, or not at all', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [notice(streamId, 1)] });
    const refused = harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 0, events: [deposited(1)], messages: [notice(streamId, 2)] });
    await expect(refused).rejects.toBeInstanceOf(ConcurrencyError);
    const invalid = harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 1, events: [deposited(1)], messages: [{ ...notice(streamId, 3), subject: 'with space' }] });
    await expect(invalid).rejects.toBeInstanceOf(EventValidationError);
    expect(await outboxRows()).toEqual([{ ordering_key: streamId, n: 1 }]);
    await publishEverything(harness.db, harness.publisher());
  });

  it('are published with their body as the text that was checked against the size limit, key order and numbers kept', async () => {
    const key = uniqueStreamId();
    const body = { zeta: 1, alpha: 'a', tiny: 1e-300, nested: { b: [1.5, 2e300], a: null } };
    await harness.store.appendToStream<AccountEvent>({
      streamId: key,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      messages: [{ ...notice(key, 1), subject: `${harness.subjectPrefix}.notices.verbatim`, body }],
    });
    await publishEverything(harness.db, harness.publisher());

    const stored = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject.endsWith('.notices.verbatim'));
    expect(stored.map((message) => message.string())).toEqual([JSON.stringify(body)]);
  });

  it('take a subject of 255 characters counted as PostgreSQL counts them, emoji among them, and publish it; one of 256 is refused with nothing written', async () => {
    const key = uniqueStreamId();
    // An emoji is one character, and two UTF-16 units of a JavaScript string.
    const subjectOf = (characters: number) => `${harness.subjectPrefix}.${'😀'.repeat(characters - harness.subjectPrefix.length - 1)}`;
    const longest = subjectOf(255);
    const carrying = (subject: string, expectedVersion: 'no_stream' | 1) =>
      harness.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion, events: [deposited(1)], messages: [{ ...notice(key, 1), subject }] });

    await expect(carrying(subjectOf(256), 'no_stream')).rejects.toThrow(/subject must be at most 255 characters/);
    expect(await outboxRows([key])).toEqual([]);
    await carrying(longest, 'no_stream');
    await publishEverything(harness.db, harness.publisher());

    const stored = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject === longest);
    expect(stored.map((message) => message.json())).toEqual([{ key, n: 1 }]);
  });

  it('are refused, with nothing written, when a header would change how JetStream stores them; an expectation is taken', async () => {
    const streamId = uniqueStreamId();
    const carrying = (headers: Record<string, string>) =>
      harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [{ ...notice(streamId, 1), headers }] });
    const before = await outboxRows();
    for (const header of ['Nats-Rollup', 'nats-msg-id', 'Nats-TTL']) {
      const refused: unknown = await carrying({ [header]: 'sub' }).catch((error: unknown) => error);
      if (!(refused instanceof EventValidationError)) throw new Error(`${header} was not refused`);
      expect(refused.issues.map((issue) => issue.path)).toEqual([`messages.0.headers.${header}`]);
      expect(refused.issues[0]?.message).toMatch(/is reserved/);
    }
    expect(await outboxRows()).toEqual(before);

    // On a subject of its own, which holds nothing yet: the expectation holds, and the message is published.
    await harness.store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      messages: [{ ...notice(streamId, 1), subject: `${harness.subjectPrefix}.expecting.${randomBytes(4).toString('hex')}`, headers: { 'Nats-Expected-Last-Subject-Sequence': '0' } }],
    });
    expect(await outboxRows()).toEqual([...before, { ordering_key: streamId, n: 1 }]);
    const report = await publishEverything(harness.db, harness.publisher());
    expect(report.parked).toBe(0);
  });

  it('are refused, with nothing written, when their Event-Id names their own id, as the publisher marks an event\'s message (isEventMessage); parked when an earlier append took one', async () => {
    const streamId = uniqueStreamId();
    // A relay's pattern: another service's event id as the message id, and passed on as Event-Id.
    const relayed = randomUUID();
    const before = await outboxRows();
    const refused: unknown = await harness.store
      .appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [{ ...notice(streamId, 1), messageId: relayed, headers: { 'Event-Id': relayed } }] })
      .catch((error: unknown) => error);
    if (!(refused instanceof EventValidationError)) throw new Error('an Event-Id naming the message\'s own id was not refused');
    expect(refused.issues).toEqual([{ path: 'messages.0.headers.Event-Id', message: expect.stringMatching(/^Event-Id names the message's own id/) as unknown }]);
    expect(await outboxRows()).toEqual(before);

    // The relayed event's id beside an id of the message's own is no mark of an event, nor another spelling NATS matches apart.
    await harness.store.appendToStream<AccountEvent>({
      streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()],
      messages: [{ ...notice(streamId, 1), headers: { 'Event-Id': relayed } }, { ...notice(streamId, 2), messageId: randomUUID(), headers: { 'event-id': relayed } }],
    });

    // As an append before the rule wrote it.
    await harness.db.query('INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES ($1, $2, $3, $4, $5)', [
      relayed, streamId, `${harness.subjectPrefix}.notices.relayed`, JSON.stringify({ streamId }), JSON.stringify({ 'Event-Id': relayed }),
    ]);
    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 3, parked: 1 });
    expect((await listParkedMessages(harness.db)).filter((message) => message.orderingKey === streamId)).toMatchObject([
      { messageId: relayed, error: expect.stringMatching(/^headers an earlier append took: Event-Id names the message's own id/) as unknown },
    ]);
    await harness.db.query('DELETE FROM parked_messages WHERE ordering_key = $1', [streamId]);
    await harness.db.query('DELETE FROM outbox WHERE ordering_key = $1', [streamId]);
  });

  it('are refused, with nothing written, when an expectation is spelt or filled in a way JetStream would ignore, storing the message whether it holds or not', async () => {
    const streamId = uniqueStreamId();
    const carrying = (headers: Record<string, string>) =>
      harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [{ ...notice(streamId, 1), headers }] });
    const before = await outboxRows();
    const cases: [Record<string, string>, string, RegExp][] = [
      // An HTTP server hands headers on lower-cased; nats-server reads expectations by their exact names.
      [{ 'nats-expected-last-subject-sequence': '5' }, 'nats-expected-last-subject-sequence', /must be written Nats-Expected-Last-Subject-Sequence/],
      [{ 'NATS-EXPECTED-STREAM': 'ORDERS' }, 'NATS-EXPECTED-STREAM', /must be written Nats-Expected-Stream/],
      [{ 'Nats-Expected-Last-Subject-Seq': '5' }, 'Nats-Expected-Last-Subject-Seq', /is reserved/],
      // An empty value is no expectation at all to nats-server; a sequence must be a number.
      [{ 'Nats-Expected-Last-Subject-Sequence': '' }, 'Nats-Expected-Last-Subject-Sequence', /digits only/],
      [{ 'Nats-Expected-Last-Sequence': 'abc' }, 'Nats-Expected-Last-Sequence', /digits only/],
      [{ 'Nats-Expected-Stream': '' }, 'Nats-Expected-Stream', /must be the name of the stream/],
      [{ 'Nats-Expected-Last-Msg-Id': 'see Nats-Expected-Last-Sequence', 'Nats-Expected-Last-Sequence': '3' }, 'Nats-Expected-Last-Msg-Id', /must not mention/],
      // Ids are published in lower case, and nats-server compares them as text.
      [{ 'Nats-Expected-Last-Msg-Id': '0190A5E2-7B1C-7D3E-8F40-5A6B7C8D9E0F' }, 'Nats-Expected-Last-Msg-Id', /in lower case \(0190a5e2-7b1c-7d3e-8f40-5a6b7c8d9e0f\)/],
    ];
    for (const [headers, path, message] of cases) {
      const refused: unknown = await carrying(headers).catch((error: unknown) => error);
      if (!(refused instanceof EventValidationError)) throw new Error(`${JSON.stringify(headers)} was not refused`);
      expect(refused.issues.map((issue) => issue.path)).toEqual([`messages.0.headers.${path}`]);
      expect(refused.issues[0]?.message).toMatch(message);
    }
    expect(await outboxRows()).toEqual(before);
  });

  it('with an expectation behind another header that mentions its name are still checked by JetStream: parked when it does not hold, never stored', async () => {
    const key = uniqueStreamId();
    // A subject of its own holds nothing: an expected last subject sequence of 5 does not hold.
    const subject = `${harness.subjectPrefix}.expecting.${randomBytes(4).toString('hex')}`;
    await harness.store.appendToStream<AccountEvent>({
      streamId: key,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      messages: [{ ...notice(key, 1), subject, headers: { 'X-Note': 'see Nats-Expected-Last-Subject-Sequence', 'Nats-Expected-Last-Subject-Sequence': '5' } }],
    });

    await publishEverything(harness.db, harness.publisher());

    expect((await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject === subject)).toEqual([]);
    expect((await listParkedMessages(harness.db)).filter((parked) => parked.subject === subject)).toHaveLength(1);
  });

  it('take headers named like JavaScript’s object methods (toString, constructor, valueOf) and publish them as given', async () => {
    const key = uniqueStreamId();
    const headers = { toString: 'a', constructor: 'b', valueOf: 'c' };
    await harness.store.appendToStream<AccountEvent>({
      streamId: key,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      messages: [{ ...notice(key, 1), subject: `${harness.subjectPrefix}.notices.methods`, headers }],
    });

    await publishEverything(harness.db, harness.publisher());

    const [stored] = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject.endsWith('.notices.methods'));
    expect(Object.keys(headers).map((name) => stored?.header.get(name))).toEqual(['a', 'b', 'c']);
  });

  it('are refused, with nothing written, with a header named __proto__, which a JavaScript reader of the stored headers would drop, or a header that is not text', async () => {
    const streamId = uniqueStreamId();
    const before = await outboxRows();
    for (const json of ['{"__proto__": "v", "X-Ok": "1"}', '{"__proto__": 5}', '{"X-Count": 5}']) {
      const headers = JSON.parse(json) as Record<string, string>;
      const refused: unknown = await harness.store
        .appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [{ ...notice(streamId, 1), headers }] })
        .catch((error: unknown) => error);
      if (!(refused instanceof EventValidationError)) throw new Error(`${json} was not refused with a validation error: ${String(refused)}`);
      expect(refused.issues.map((issue) => issue.path), json).toEqual([`messages.0.headers.${json.includes('X-Count') ? 'X-Count' : '__proto__'}`]);
    }
    expect(await outboxRows()).toEqual(before);
  });

  it('are refused, with nothing written, when their headers are more than JetStream stores; the most it stores is published', async () => {
    // As NATS sends them: "NATS/1.0\r\n", "name: value\r\n" each, "\r\n"; with room for the publisher's
    // Nats-Msg-Id and its send span's traceparent, JetStream's limit of 65,535 bytes leaves this much.
    const publisherAdds = `Nats-Msg-Id: ${randomUUID()}\r\n`.length + `traceparent: 00-${'0'.repeat(32)}-${'0'.repeat(16)}-01\r\n`.length;
    const mostAccepted = 65_535 - publisherAdds;
    const headersOfBlock = (bytes: number) => {
      const headers: Record<string, string> = {};
      const besidesValue = 'X-Part-10: \r\n'.length;
      let left = bytes - 'NATS/1.0\r\n\r\n'.length;
      for (let n = 10; left > 0; n++) {
        const line = Math.min(left, besidesValue + 4_096);
        headers[`X-Part-${n}`] = 'x'.repeat(line - besidesValue);
        left -= line;
      }
      return headers;
    };
    const streamId = uniqueStreamId();
    const carrying = (headers: Record<string, string>) =>
      harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [{ ...notice(streamId, 1), headers }] });
    const twentyOf4KiB = Object.fromEntries(Array.from({ length: 20 }, (_, n) => [`X-Part-${n + 10}`, 'x'.repeat(4_096)]));
    const longName = `X-${'n'.repeat(255)}`;
    const before = await outboxRows();
    for (const [headers, path, message] of [
      [twentyOf4KiB, 'messages.0.headers', /82\d{3} bytes .* at most 65535/],
      [headersOfBlock(mostAccepted + 1), 'messages.0.headers', /65536 bytes .* at most 65535/],
      [{ [longName]: 'v' }, `messages.0.headers.${longName}`, /at most 256 characters/],
    ] as const) {
      const refused: unknown = await carrying(headers).catch((error: unknown) => error);
      if (!(refused instanceof EventValidationError)) throw new Error(`headers of ${JSON.stringify(headers).length} characters were not refused`);
      expect(refused.issues).toEqual([{ path, message: expect.stringMatching(message) as string }]);
    }
    expect(await outboxRows()).toEqual(before);

    await carrying(headersOfBlock(mostAccepted));
    const report = await publishEverything(harness.db, harness.publisher());
    expect(report.parked).toBe(0);
    const stored = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.json<{ key?: string }>().key === streamId);
    expect(stored).toHaveLength(1);
  });

  it('are parked, never sent, when written before the append refused their subject: one on $JS.API would be an API call', async () => {
    const key = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [notice(key, 1)] });
    await publishEverything(harness.db, harness.publisher());
    const storedBefore = (await readStoredMessages(harness.nc, harness.streamName)).length;
    // As an append before the rule wrote it.
    const purge = `$JS.API.STREAM.PURGE.${harness.streamName}`;
    await harness.db.query("INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES (gen_random_uuid(), $1, $2, '{}', '{}')", [key, purge]);

    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 0, parked: 1 });
    expect(await readStoredMessages(harness.nc, harness.streamName)).toHaveLength(storedBefore);
    expect((await listParkedMessages(harness.db)).filter((parked) => parked.subject === purge)).toMatchObject([{ source: 'outbox', orderingKey: key }]);
    // A parked row stays for a person; this file's other specs count the outbox's rows.
    await harness.db.query('DELETE FROM parked_messages WHERE subject = $1', [purge]);
    await harness.db.query('DELETE FROM outbox WHERE subject = $1', [purge]);
  });

  it('are parked, never sent, when written before the append refused their headers: a Nats-Msg-Id would send one as a published message’s duplicate, a rollup be refused on every try, a __proto__ name be dropped', async () => {
    const key = uniqueStreamId();
    const published = randomUUID();
    await harness.store.appendToStream<AccountEvent>({
      streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [{ ...notice(key, 1), messageId: published }],
    });
    await publishEverything(harness.db, harness.publisher());
    const storedBefore = (await readStoredMessages(harness.nc, harness.streamName)).length;
    // As appends before the rule wrote them.
    const oldRow = (n: number, headers: string) =>
      harness.db.query('INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES (gen_random_uuid(), $1, $2, $3, $4)', [
        key, `${harness.subjectPrefix}.notices.old`, JSON.stringify({ key, n }), headers,
      ]);
    await oldRow(2, JSON.stringify({ 'Nats-Msg-Id': published }));
    await oldRow(3, JSON.stringify({ 'Nats-Rollup': 'sub' }));
    // Written as text: a "__proto__" key in an object literal would set its prototype instead.
    await oldRow(4, '{"__proto__": "kept by the writer", "Other": "x"}');

    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 0, duplicates: 0, parked: 3, retried: 0 });
    expect(await readStoredMessages(harness.nc, harness.streamName)).toHaveLength(storedBefore);
    const parked = (await listParkedMessages(harness.db)).filter((message) => message.orderingKey === key);
    expect(parked.map((message) => message.error).sort()).toEqual([
      expect.stringMatching(/^headers an earlier append took: Nats-Msg-Id is reserved/),
      expect.stringMatching(/^headers an earlier append took: Nats-Rollup is reserved/),
      expect.stringMatching(/^headers an earlier append took: __proto__ /),
    ]);
    // A parked row stays for a person; this file's other specs count the outbox's rows.
    await harness.db.query('DELETE FROM parked_messages WHERE ordering_key = $1', [key]);
    await harness.db.query("DELETE FROM outbox WHERE ordering_key = $1 AND subject LIKE '%.notices.old'", [key]);
  });

  it('are parked, never sent, when their stored headers are no JSON object of strings (a row written by hand), and the key\'s next message goes out', async () => {
    const key = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await publishEverything(harness.db, harness.publisher());
    const handWritten = (n: number, headers: string) =>
      harness.db.query("INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES (gen_random_uuid(), $1, $2, $3, $4::json)", [
        key, `${harness.subjectPrefix}.notices.by-hand`, JSON.stringify({ key, n }), headers,
      ]);
    await handWritten(1, 'null');
    await handWritten(2, '["Notice-Number", "2"]');
    await handWritten(3, '{"Notice-Number": 3}');
    // json keeps the escape of a NUL, which no text column takes: the reason quoted it raw.
    await handWritten(4, '{"Notice\\u0000Number": 4}');
    await handWritten(5, '{"Notice\\u0000Number": "5"}');
    await harness.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion: 1, events: [deposited(1)], messages: [notice(key, 4)] });

    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 2, parked: 5, retried: 0 });
    const sent = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject.endsWith('.notices.sent'));
    expect(sent.map((message) => message.json<{ key: string; n: number }>()).filter((body) => body.key === key)).toEqual([{ key, n: 4 }]);
    const parked = (await listParkedMessages(harness.db)).filter((message) => message.orderingKey === key);
    expect(parked.map((message) => message.error).sort()).toEqual([
      expect.stringMatching(/^headers an earlier append took: Notice\uFFFDNumber /),
      'stored headers are not a JSON object: an array',
      'stored headers are not a JSON object: null',
      'stored headers must be text: "Notice-Number" is a number',
      'stored headers must be text: "Notice\\u0000Number" is a number',
    ]);
    // Requeued, it is parked again: the turn that sends requeued messages reads the same row.
    const nullHeaders = parked.find((message) => message.error.endsWith('null'));
    expect(await requeueParkedMessage(harness.db, nullHeaders?.messageId ?? '', 'outbox')).toBe(true);
    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ requeued: 0, published: 0, parked: 1 });
    expect((await listParkedMessages(harness.db)).filter((message) => message.orderingKey === key)).toHaveLength(5);
    await harness.db.query('DELETE FROM parked_messages WHERE ordering_key = $1', [key]);
    await harness.db.query("DELETE FROM outbox WHERE ordering_key = $1", [key]);
  });

  it('are published once each, in order per key, while writers on many keys race', async () => {
    const keys = Array.from({ length: 12 }, () => uniqueStreamId());
    await Promise.all(
      keys.map(async (key) => {
        for (let n = 1; n <= 10; n++) {
          await harness.store.appendToStream<AccountEvent>({
            streamId: key,
            streamType: 'account',
            expectedVersion: n - 1,
            events: [n === 1 ? opened() : deposited(n)],
            messages: [notice(key, n)],
          });
        }
      }),
    );
    const publishers = [harness.publisher(), harness.publisher()];
    await Promise.all(publishers.map((publisher) => publishEverything(harness.db, publisher)));

    const stored = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject.endsWith('.notices.sent'));
    for (const key of keys) {
      const ofKey = stored.filter((message) => message.json<{ key: string }>().key === key);
      expect(ofKey.map((message) => message.json<{ n: number }>().n), key).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(ofKey.map((message) => message.header.get('Notice-Number'))).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
    }
    const ids = stored.map((message) => message.header.get('Nats-Msg-Id'));
    expect(new Set(ids).size).toBe(ids.length);
    expect((await readPublishingStatus(harness.db)).outbox.backlog).toBe(0);
  });

  it('given keys of other partitions only, an idle partition moves its checkpoint to the newest message, so its next poll walks none of theirs', async () => {
    const PARTITIONS = 4;
    const keys: string[] = [];
    while (keys.length < 3) {
      const key = uniqueStreamId();
      const { rows } = await harness.db.query<{ partition: number }>('SELECT stream_partition($1, $2) AS partition', [key, PARTITIONS]);
      if (rows[0]?.partition !== 0) keys.push(key);
    }
    for (const key of keys) {
      const messages = Array.from({ length: 400 }, (_, n) => notice(key, n));
      await harness.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages });
    }
    // Below the horizon before the run, whatever other files' transactions hold it back: the idle partition's last poll sees the newest message.
    await untilFeedHorizonPasses(harness.db);
    await publishEverything(harness.db, harness.publisher({ partitions: PARTITIONS }));

    const { partitions } = (await readPublishingStatus(harness.db)).outbox;
    const { rows: newest } = await harness.db.query<{ checkpoint: string }>("SELECT tx_id || ':' || id AS checkpoint FROM outbox ORDER BY tx_id DESC, id DESC LIMIT 1");
    // Its next poll's walk starts there, not at its own last message, behind the 1,200 messages of the others.
    expect(partitions.find((partition) => partition.partition === 0)?.checkpoint).toBe(newest[0]?.checkpoint);
  });

  it('count in the backlog, with their age, while a transaction open elsewhere holds them back from publishing', async () => {
    // The backlog is the database's: whatever an earlier spec left unpublished goes first.
    await publishEverything(harness.db, harness.publisher());
    const key = uniqueStreamId();
    await harness.db.transaction(async (holding) => {
      await holding.query('SELECT pg_current_xact_id()');
      await harness.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [notice(key, 1)] });
      await harness.db.query("UPDATE outbox SET created_at = now() - interval '5 minutes' WHERE ordering_key = $1", [key]);

      const { outbox } = await readPublishingStatus(harness.db);
      expect(outbox.backlog).toBe(1);
      expect(outbox.oldestAgeSeconds).toBeGreaterThanOrEqual(300);
    });
    await publishEverything(harness.db, harness.publisher());
    const stored = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.json<{ key?: string }>().key === key);
    expect(stored).toHaveLength(1);
  });

  it('are deleted once published and older than the retention, counted from when they were written, in bounded batches; never before they are published', async () => {
    // Seven of this spec's own: the other specs' rows are younger than the retention, so never deleted here.
    const key = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({
      streamId: key,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened()],
      messages: Array.from({ length: 7 }, (_, index) => notice(key, index + 1)),
    });
    const publisher = harness.publisher({ retention: { retentionMs: 60 * 60_000, batchSize: 2, maxBatches: 3 } });
    await publishEverything(harness.db, publisher);
    // Written an hour and a half ago, which is what the retention counts from; one more waits unpublished.
    await harness.db.query("UPDATE outbox SET created_at = now() - interval '90 minutes' WHERE ordering_key = $1", [key]);
    const waiting = uniqueStreamId();
    await harness.db.transaction(async (tx) => {
      await harness.store.appendToStream<AccountEvent>({ streamId: waiting, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [notice(waiting, 1)] }, tx);
      await tx.query("UPDATE outbox SET created_at = now() - interval '90 minutes' WHERE ordering_key = $1", [waiting]);
    });

    // One run deletes at most three batches of two; a run with room for all leaves only the unpublished one.
    expect((await publisher.run({ deadline: Date.now() })).cleaned).toBe(6);
    const roomy = harness.publisher({ retention: { retentionMs: 60 * 60_000, batchSize: 100, maxBatches: 10 } });
    expect((await roomy.run({ deadline: Date.now() })).cleaned).toBe(1);
    expect(await outboxRows([key, waiting])).toEqual([{ ordering_key: waiting, n: 1 }]);
    // Written longer ago than the retention, the waiting one goes in the run that publishes it.
    await publishEverything(harness.db, publisher);
    expect(await outboxRows([key, waiting])).toEqual([]);
  });

  it('are kept under the longest retention a publisher takes, a thousand years, by runs that clean up without failing', async () => {
    const key = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId: key, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [notice(key, 1)] });
    const before = await outboxRows();
    const publisher = harness.publisher({ retention: { retentionMs: 1_000 * 365 * 24 * 3_600_000 } });
    expect(await publishEverything(harness.db, publisher)).toMatchObject({ cleaned: 0 });
    expect(await outboxRows()).toEqual(before);
  });
});
