import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankService } from '../../core/bank';
import { encodeCursor } from '../../core/browser';
import { parkMessages } from '../../core/publishing';
import { startDevServer, type DevServer } from '../../functions/local';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { untilTransferCompleted } from '../support/transferCompleted';

/** The browser API over HTTP, as `npm run dev` serves it, on PostgreSQL. */
describe('the event browser API', () => {
  let database: TestDatabase;
  let dev: DevServer;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    dev = await startDevServer(bankService, { port: 0, env: { ...process.env, DATABASE_URL: database.url, NATS_URL: undefined, POWERTOOLS_LOG_LEVEL: 'SILENT' } });
    const post = (type: string, body: object, headers: Record<string, string> = {}) =>
      fetch(`${dev.url}/commands/${type}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    for (const accountId of ['br-ada', 'br-bob', 'br-cy']) await post('OpenAccount', { accountId, owner: accountId, currency: 'EUR' });
    for (const amount of [100, 20, 5]) await post('Deposit', { accountId: 'br-ada', amount });
    await post('RequestTransfer', { transferId: 'br-t1', fromAccountId: 'br-ada', toAccountId: 'br-bob', amount: 30, currency: 'EUR' }, {
      'x-correlation-id': 'br-story',
      traceparent: '00-11111111111111111111111111111111-2222222222222222-01',
    });
    // The saga runs in the dev server's loop.
    await untilTransferCompleted(dev.runtime.db, 'br-t1');
  });
  afterAll(async () => {
    await dev.stop();
    await database.drop();
  });

  const get = async (path: string) => {
    const response = await fetch(`${dev.url}/browser/api/${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & { nextCursor?: string | null } };
  };
  const post = async (path: string) => {
    const response = await fetch(`${dev.url}/browser/api/${path}`, { method: 'POST' });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('lists streams in id order, filtered by prefix and type, a page at a time', async () => {
    const first = await get('streams?prefix=account-br-&limit=2');
    expect(first.body.streams).toMatchObject([{ streamId: 'account-br-ada', streamType: 'account', version: 5 }, { streamId: 'account-br-bob', version: 2 }]);
    const second = await get(`streams?prefix=account-br-&limit=2&cursor=${String(first.body.nextCursor)}`);
    expect(second.body).toMatchObject({ streams: [{ streamId: 'account-br-cy', version: 1 }], nextCursor: null });
    expect((await get('streams?type=transfer')).body.streams).toMatchObject([{ streamId: 'transfer-br-t1', streamType: 'transfer' }]);
  });

  it("shows a stream's events, paged, and its aggregate's state at any version", async () => {
    const page = await get('streams/account-br-ada?limit=3&original=true');
    expect((page.body.events as { type: string }[]).map((event) => event.type)).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyDeposited']);
    expect(page.body.events).toMatchObject([{ original: { type: 'AccountOpened', schemaVersion: 1 } }, {}, {}]);
    const rest = await get(`streams/account-br-ada?cursor=${String(page.body.nextCursor)}`);
    expect((rest.body.events as { version: number }[]).map((event) => event.version)).toEqual([4, 5]);

    expect((await get('streams/account-br-ada/state?version=2')).body).toMatchObject({ version: 2, streamVersion: 5, state: { status: 'open', balance: 100 } });
    expect((await get('streams/account-br-ada/state?version=3')).body).toMatchObject({ state: { balance: 120 } });
    expect((await get('streams/account-br-ada/state')).body).toMatchObject({ state: { balance: 95 } });
  });

  it("tells one request's whole story, as a causation tree, by correlation or by trace", async () => {
    const story = await get('correlations/br-story');
    const types = (story.body.events as { type: string }[]).map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(['TransferRequested', 'MoneyWithdrawn', 'TransferDebited', 'MoneyDeposited', 'TransferCredited', 'TransferCompleted']));
    const commandTypes = (story.body.commands as { commandType: string }[]).map((command) => command.commandType);
    expect(commandTypes).toEqual(expect.arrayContaining(['RequestTransfer', 'Withdraw', 'RecordDebit', 'Deposit', 'RecordCredit', 'CompleteTransfer']));
    // The request's command is the root; the saga's commands hang under the events that caused them.
    const [root] = story.body.tree as { label: string; children: { label: string; children: { label: string }[] }[] }[];
    expect(root?.label).toBe('RequestTransfer (succeeded)');
    expect(root?.children[0]?.label).toMatch(/^TransferRequested transfer-br-t1@1/);
    expect(root?.children[0]?.children.map((child) => child.label)).toContain('Withdraw (succeeded)');

    expect((await get('traces/11111111111111111111111111111111')).body).toMatchObject({ correlations: ['br-story'], story: { correlationId: 'br-story' } });
  });

  it('shows an event with links to its stream, its correlation and what caused it', async () => {
    const story = await get('correlations/br-story');
    const withdrawn = (story.body.events as { type: string; eventId: string }[]).find((event) => event.type === 'MoneyWithdrawn');
    const details = await get(`events/${String(withdrawn?.eventId)}`);
    expect(details.body).toMatchObject({
      event: { type: 'MoneyWithdrawn', streamId: 'account-br-ada' },
      links: { stream: '/browser/api/streams/account-br-ada', correlation: '/browser/api/correlations/br-story', causedBy: expect.stringMatching(/^\/browser\/api\/events\//) as unknown },
    });
  });

  it('pages the global feed, by type', async () => {
    const first = await get('feed?type=MoneyDeposited&limit=2');
    expect((first.body.events as { type: string }[]).map((event) => event.type)).toEqual(['MoneyDeposited', 'MoneyDeposited']);
    const next = await get(`feed?type=MoneyDeposited&limit=10&after=${String(first.body.nextCursor)}`);
    expect((next.body.events as unknown[]).length).toBeGreaterThan(0);
  });

  it('shows sagas with their timeline, projections and publishing; finds any id', async () => {
    expect((await get('sagas?status=completed')).body.sagas).toMatchObject([{ saga: 'transfer', sagaId: 'br-t1', phase: 'completed' }]);
    const saga = await get('sagas/br-t1');
    expect(saga.body).toMatchObject({ instances: [{ saga: 'transfer', phase: 'completed', timeouts: [] }] });
    expect((await get('projections')).body.projections).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'account_summaries' })]));
    expect((await get('publishing')).body).toMatchObject({ parkedCount: 0, requeuedCount: 0, parked: [] });
    expect((await get('search?q=br-story')).body).toMatchObject({ matches: [{ kind: 'correlation' }] });
    expect((await get('search?q=br-t1')).body).toMatchObject({ matches: [{ kind: 'saga' }] });
    expect((await get('search?q=account-br-ada')).body).toMatchObject({ matches: [{ kind: 'stream' }] });
  });

  it('rebuilds a projection and requeues a parked message', async () => {
    expect(await post('projections/account_summaries/rebuild')).toMatchObject({ status: 200, body: { projection: 'account_summaries', generation: { status: 'building' } } });
    const { rows } = await dev.runtime.db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'account-br-cy'");
    const eventId = rows[0]?.event_id ?? '';
    await parkMessages(dev.runtime.db, 'events', [{ messageId: eventId, orderingKey: 'account-br-cy', subject: 'events.account.AccountOpened', error: 'MAX_PAYLOAD_EXCEEDED' }]);
    expect((await get('publishing')).body).toMatchObject({ parkedCount: 1, requeuedCount: 0, parked: [{ messageId: eventId, source: 'events', requeuedAt: null }] });
    expect(await post(`publishing/parked/${eventId}/requeue`)).toMatchObject({ status: 200, body: { requeued: true } });
    expect((await get('publishing')).body).toMatchObject({ parkedCount: 0, requeuedCount: 1, parked: [{ messageId: eventId, requeuedAt: expect.any(String) as unknown, onItsWay: true }] });

    // An integration message parked under the same id is its own: requeued by its source, or with every one of that id.
    await dev.runtime.db.query('UPDATE parked_messages SET requeued_at = NULL WHERE message_id = $1', [eventId]);
    await parkMessages(dev.runtime.db, 'outbox', [{ messageId: eventId, orderingKey: 'notices', subject: 'notices.sent', error: 'MAX_PAYLOAD_EXCEEDED' }]);
    const requeued = async () => {
      const { rows: parked } = await dev.runtime.db.query<{ source: string; requeued: boolean }>(
        'SELECT source, requeued_at IS NOT NULL AS requeued FROM parked_messages WHERE message_id = $1 ORDER BY source',
        [eventId],
      );
      return parked;
    };
    expect(await post(`publishing/parked/${eventId}/requeue?source=outbox`)).toMatchObject({ status: 200, body: { messageId: eventId, source: 'outbox', requeued: true } });
    expect(await requeued()).toEqual([{ source: 'events', requeued: false }, { source: 'outbox', requeued: true }]);
    expect(await post(`publishing/parked/${eventId}/requeue?source=commands`)).toMatchObject({ status: 400 });
    expect(await post(`publishing/parked/${eventId}/requeue`)).toMatchObject({ status: 200, body: { requeued: true } });
    expect(await requeued()).toEqual([{ source: 'events', requeued: true }, { source: 'outbox', requeued: true }]);
    await dev.runtime.db.query("DELETE FROM parked_messages WHERE source = 'outbox'");
  });

  it('discards a parked message only once its publisher passed it and it is not requeued, saying why not otherwise', async () => {
    const { rows } = await dev.runtime.db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'account-br-bob'");
    const eventId = rows[0]?.event_id ?? '';
    await parkMessages(dev.runtime.db, 'events', [{ messageId: eventId, orderingKey: 'account-br-bob', subject: 'events.account.AccountOpened', error: 'MAX_PAYLOAD_EXCEEDED' }]);

    // No publisher runs here (no NATS_URL): none has passed it, and the batch that parked it could run again.
    expect(await post(`publishing/parked/${eventId}/discard`)).toMatchObject({ status: 409, body: { code: 'PARKED_MESSAGE_NOT_PASSED' } });
    await post(`publishing/parked/${eventId}/requeue`);
    expect(await post(`publishing/parked/${eventId}/discard?source=events`)).toMatchObject({ status: 409, body: { code: 'PARKED_MESSAGE_REQUEUED' } });
    expect(await post(`publishing/parked/${eventId}/discard?source=commands`)).toMatchObject({ status: 400 });
    expect(await post('publishing/parked/0190a4b2-0000-7000-8000-000000000000/discard')).toMatchObject({ status: 404, body: { code: 'PARKED_MESSAGE_NOT_FOUND' } });
    expect((await get('publishing')).body).toMatchObject({ parked: expect.arrayContaining([expect.objectContaining({ messageId: eventId })]) as unknown });
    await dev.runtime.db.query('DELETE FROM parked_messages WHERE message_id = $1', [eventId]);
  });

  /** Every item a client collects following `nextCursor` from `path` (at most `pages` pages, so a cursor that never moves ends). */
  const followPages = async (path: string, items: string, pages: number) => {
    const seen: unknown[] = [];
    let cursor: string | null | undefined = '';
    for (let page = 0; page < pages && typeof cursor === 'string'; page += 1) {
      const { body } = await get(`${path}&cursor=${cursor}`);
      seen.push(...(body[items] as unknown[]));
      cursor = body.nextCursor;
    }
    return seen;
  };

  it('pages parked messages parked within one millisecond: each listed once', async () => {
    const { rows } = await dev.runtime.db.query<{ event_id: string }>("SELECT event_id FROM events WHERE stream_id = 'account-br-ada' ORDER BY event_id LIMIT 3");
    const ids = rows.map((row) => row.event_id);
    await parkMessages(dev.runtime.db, 'events', ids.map((messageId) => ({ messageId, orderingKey: 'account-br-ada', subject: 'events.account.MoneyDeposited', error: 'MAX_PAYLOAD_EXCEEDED' })));
    await dev.runtime.db.query("UPDATE parked_messages SET parked_at = '2026-03-01T10:00:00.123456Z' WHERE message_id = ANY ($1::uuid[])", [ids]);
    try {
      const listed = (await followPages('publishing?limit=1', 'parked', 6)) as { messageId: string }[];
      expect(listed.map((message) => message.messageId).filter((id) => ids.includes(id))).toEqual(ids);
    } finally {
      await dev.runtime.db.query('DELETE FROM parked_messages WHERE message_id = ANY ($1::uuid[])', [ids]);
    }
  });

  it('pages past and requeues a message parked under a hand-written id PostgreSQL holds, though no RFC 9562 UUID (md5(...)::uuid)', async () => {
    const { rows } = await dev.runtime.db.query<{ id: string }>("SELECT md5('br-order-42')::uuid::text AS id");
    const messageId = rows[0]?.id ?? '';
    await parkMessages(dev.runtime.db, 'outbox', [{ messageId, orderingKey: 'br-orders', subject: 'orders.placed', error: 'refused' }]);
    try {
      const listed = (await followPages('publishing?limit=1', 'parked', 6)) as { messageId: string }[];
      expect(listed.filter((message) => message.messageId === messageId)).toHaveLength(1);
      expect(await post(`publishing/parked/${messageId}/requeue`)).toMatchObject({ status: 200, body: { requeued: true } });
    } finally {
      await dev.runtime.db.query('DELETE FROM parked_messages WHERE message_id = $1', [messageId]);
    }
  });

  it('pages saga instances changed within one millisecond: none is skipped', async () => {
    const ids = ['br-page-1', 'br-page-2', 'br-page-3'];
    await dev.runtime.db.query(
      `INSERT INTO saga_instances (saga, saga_id, phase, state, state_version, version, correlation_id, updated_at)
       SELECT 'transfer', id, 'stuck', '{}', 1, 1, id, '2026-03-01T10:00:00.123456Z' FROM unnest($1::text[]) AS id`,
      [ids],
    );
    try {
      const listed = (await followPages('sagas?status=stuck&limit=1', 'sagas', 6)) as { sagaId: string }[];
      expect(listed.map((saga) => saga.sagaId)).toEqual([...ids].reverse());
    } finally {
      await dev.runtime.db.query("DELETE FROM saga_instances WHERE saga = 'transfer' AND saga_id = ANY ($1::text[])", [ids]);
    }
  });

  it('answers 404 for unknown ids and 400 for bad cursors, versions and limits, in the usual error shape', async () => {
    expect(await get('streams/account-nobody')).toMatchObject({ status: 404, body: { code: 'STREAM_NOT_FOUND' } });
    expect(await get('events/00000000-0000-0000-0000-000000000000')).toMatchObject({ status: 404, body: { code: 'EVENT_NOT_FOUND' } });
    expect(await get('events/not-a-uuid')).toMatchObject({ status: 404, body: { code: 'EVENT_NOT_FOUND' } });
    expect(await get('correlations/nothing')).toMatchObject({ status: 404, body: { code: 'CORRELATION_NOT_FOUND' } });
    expect(await get('sagas/nothing')).toMatchObject({ status: 404, body: { code: 'SAGA_NOT_FOUND' } });
    expect(await post('projections/nothing/rebuild')).toMatchObject({ status: 404, body: { code: 'PROJECTION_NOT_FOUND' } });
    expect(await post('publishing/parked/00000000-0000-0000-0000-000000000000/requeue')).toMatchObject({ status: 404 });
    expect(await post('publishing/parked/not-a-uuid/requeue')).toMatchObject({ status: 404, body: { code: 'PARKED_MESSAGE_NOT_FOUND' } });
    expect(await get('nowhere')).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND' } });
    expect(await get('streams?cursor=garbage')).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
    expect(await get('feed?after=garbage')).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
    expect(await get('feed?after=1:9223372036854775808')).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
    expect(await get('feed?type=Money%00Deposited')).toMatchObject({ status: 400, body: { code: 'INVALID_TEXT' } });
    // No event type is that long: a query that does not fit, not an invalid command.
    expect(await get(`feed?type=${'T'.repeat(201)}`)).toMatchObject({ status: 400, body: { code: 'INVALID_QUERY', details: { issues: [{ path: 'type' }] } } });
    // Well-formed cursors whose fields are not what a page gave.
    expect(await get(`sagas?cursor=${encodeCursor({ at: 'yesterday', saga: 'transfer', sagaId: 'x' })}`)).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
    expect(await get(`publishing?cursor=${encodeCursor({ parkedAt: new Date().toISOString(), messageId: 'm-1' })}`)).toMatchObject({ status: 400, body: { code: 'INVALID_CURSOR' } });
    expect(await get('streams?limit=0')).toMatchObject({ status: 400, body: { code: 'INVALID_QUERY', details: { issues: [{ path: 'limit' }] } } });
    expect(await get('streams/account-br-ada/state?version=99')).toMatchObject({ status: 400, body: { code: 'INVALID_VERSION' } });
    expect(await get('streams/account-br-ada/state?version=abc')).toMatchObject({ status: 400, body: { code: 'INVALID_QUERY' } });
    expect(await get('traces/xyz')).toMatchObject({ status: 400, body: { code: 'INVALID_TRACE_ID' } });
    expect(await get('sagas?status=sleeping')).toMatchObject({ status: 400, body: { code: 'INVALID_QUERY' } });
  });
});
