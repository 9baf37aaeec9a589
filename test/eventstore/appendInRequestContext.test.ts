import { describe, expect, it } from 'vitest';
import { createEventStore, type NewEvent } from '../../core/eventstore';
import { runInContext, type RequestContext } from '../../core/observability';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);

/** The metadata each event stored, appended in `context` as `request` says. */
async function appendedIn(context: RequestContext, request: { metadata?: Record<string, string>; events: NewEvent[] }) {
  const store = createEventStore(db());
  const streamId = `inbound-${crypto.randomUUID()}`;
  await runInContext(context, () => store.appendToStream({ streamId, streamType: 'inbound', expectedVersion: 'no_stream', ...request }));
  return (await store.readStream(streamId)).events.map((event) => event.metadata);
}

const noticed = (metadata?: Record<string, string>): NewEvent => ({ type: 'Noticed', data: {}, ...(metadata ? { metadata } : {}) });
const MESSAGE = { correlationId: 'request-1', causationId: 'message-1', commandId: 'command-elsewhere' };

/** The headers each integration message was stored with, appended in `context` with `metadata`. */
async function messageHeadersIn(context: RequestContext, metadata: Record<string, string>, messages: { headers?: Record<string, string> }[]) {
  const store = createEventStore(db());
  const streamId = `inbound-${crypto.randomUUID()}`;
  await runInContext(context, () =>
    store.appendToStream({
      streamId,
      streamType: 'inbound',
      expectedVersion: 'no_stream',
      metadata,
      events: [noticed()],
      messages: messages.map((message) => ({ subject: 'partners.noticed', orderingKey: streamId, body: {}, ...message })),
    }),
  );
  const { rows } = await db().query<{ headers: Record<string, string> }>('SELECT headers FROM outbox WHERE ordering_key = $1 ORDER BY id', [streamId]);
  return rows.map((row) => row.headers);
}

describe('an append made in a request context (a consumer handling a message)', () => {
  it('leaves out of its messages’ headers a context a header cannot carry, never failing the append for it: text beyond ASCII, a tab, a trace state of its own traceparent’s, or more than the header block holds', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const context = { correlationId: 'corr\tid-é', causationId: 'message-1', traceparent, tracestate: 'congo=t61rcWkgMzE,\trojo=00f067aa0ba902b7' };
    const ownTrace = '00-11111111111111111111111111111111-2222222222222222-01';
    const nearlyFull = { Last: 'x'.repeat(1_150), ...Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`Fill-${index}`, 'x'.repeat(4_000)])) };

    const headers = await messageHeadersIn(context, { commandId: 'dépôt-1' }, [{}, { headers: { traceparent: ownTrace } }, { headers: nearlyFull }]);

    expect(headers).toEqual([{ 'Causation-Id': 'message-1', traceparent }, { 'Causation-Id': 'message-1', traceparent: ownTrace }, nearlyFull]);
  });

  it('refuses a message whose headers are null, as it does outside any context, writing nothing', async () => {
    const store = createEventStore(db());
    const streamId = `inbound-${crypto.randomUUID()}`;
    const append = () =>
      store.appendToStream({
        streamId,
        streamType: 'inbound',
        expectedVersion: 'no_stream',
        events: [noticed()],
        messages: [{ subject: 'partners.noticed', orderingKey: streamId, body: {}, headers: null as unknown as Record<string, string> }],
      });

    await expect(runInContext(MESSAGE, append)).rejects.toThrow(/messages\.0\.headers: headers must be a plain JSON object of strings/);
    await expect(append()).rejects.toThrow(/messages\.0\.headers: headers must be a plain JSON object of strings/);
    expect((await store.readStream(streamId).then(() => 'stored', () => 'none'))).toBe('none');
  });

  it('gives its integration messages the context its events carry, under the headers the events are published with; a header a message sets, in any case, is its own', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const context = { ...MESSAGE, traceparent, tracestate: 'vendor=value' };

    const headers = await messageHeadersIn(context, { commandId: 'deposit-1' }, [{}, { headers: { 'correlation-id': 'theirs', Region: 'eu' } }]);

    const beyondCorrelation = { 'Causation-Id': 'message-1', 'Command-Id': 'deposit-1', traceparent, tracestate: 'vendor=value' };
    expect(headers).toEqual([
      { 'Correlation-Id': 'request-1', ...beyondCorrelation },
      { ...beyondCorrelation, 'correlation-id': 'theirs', Region: 'eu' },
    ]);
  });

  it("adds the request's trace to a message whole or not at all: one that sets its own trace state, with no traceparent, gets neither, where its state would seem the request's trace's", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const context = { ...MESSAGE, traceparent, tracestate: 'vendor=value' };

    const headers = await messageHeadersIn(context, { commandId: 'deposit-1' }, [{ headers: { tracestate: 'theirs=state' } }, { headers: { TraceParent: traceparent.replace('b7ad', 'c8be') } }]);

    const ids = { 'Correlation-Id': 'request-1', 'Causation-Id': 'message-1', 'Command-Id': 'deposit-1' };
    expect(headers).toEqual([
      { ...ids, tracestate: 'theirs=state' },
      { ...ids, TraceParent: traceparent.replace('b7ad', 'c8be') },
    ]);
  });

  it("gives its events the context's correlation and causation, never its command id", async () => {
    expect(await appendedIn(MESSAGE, { events: [noticed(), noticed()] })).toEqual([
      { correlationId: 'request-1', causationId: 'message-1' },
      { correlationId: 'request-1', causationId: 'message-1' },
    ]);
  });

  it('leaves an append that names its own correlation in its own story, and an event that does in its own', async () => {
    expect(await appendedIn(MESSAGE, { metadata: { correlationId: 'mine' }, events: [noticed()] })).toEqual([{ correlationId: 'mine' }]);
    expect(await appendedIn(MESSAGE, { events: [noticed({ correlationId: 'its-own' }), noticed()] })).toEqual([
      { correlationId: 'its-own' },
      { correlationId: 'request-1', causationId: 'message-1' },
    ]);
  });

  it('given an event whose metadata sets a field to undefined (`{ correlationId: maybeId }`), keeps the ids that field would have taken away: undefined is no field', async () => {
    const unset = { correlationId: undefined, channel: 'atm' } as unknown as Record<string, string>;
    expect(await appendedIn(MESSAGE, { events: [noticed(unset)] })).toEqual([{ correlationId: 'request-1', causationId: 'message-1', channel: 'atm' }]);
    // Outside any context, over the append's own metadata.
    const store = createEventStore(db());
    const streamId = `inbound-${crypto.randomUUID()}`;
    await store.appendToStream({ streamId, streamType: 'inbound', expectedVersion: 'no_stream', metadata: { correlationId: 'request-7', causationId: 'command-1' }, events: [noticed(unset)] });
    expect((await store.readStream(streamId)).events.map((event) => event.metadata)).toEqual([{ correlationId: 'request-7', causationId: 'command-1', channel: 'atm' }]);
  });

  it("keeps the append's own causation beside the context's correlation", async () => {
    expect(await appendedIn(MESSAGE, { metadata: { causationId: 'chosen' }, events: [noticed()] })).toEqual([{ correlationId: 'request-1', causationId: 'chosen' }]);
  });

  it('leaves out a context id the store would refuse, and the append goes through', async () => {
    const refused = ['with\u0000nul', 'trailing ', 'line\nbreak', 'x'.repeat(201)];
    for (const id of refused) {
      expect(await appendedIn({ correlationId: id, causationId: 'message-1' }, { events: [noticed()] }), JSON.stringify(id)).toEqual([{ causationId: 'message-1' }]);
      expect(await appendedIn({ correlationId: 'request-1', causationId: id }, { events: [noticed()] }), JSON.stringify(id)).toEqual([{ correlationId: 'request-1' }]);
    }
  });

  it("carries the context's trace state beside its trace, and leaves out one the store would refuse", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const traced = (tracestate: string): RequestContext => ({ correlationId: 'request-1', traceparent, tracestate });
    expect(await appendedIn(traced('vendor=value'), { events: [noticed()] })).toEqual([{ correlationId: 'request-1', traceparent, tracestate: 'vendor=value' }]);
    // Past 512 characters W3C lets a platform drop it; kept, it would push the event's headers toward JetStream's limit.
    const refused = ['vendor=value\u00a0', 'vendor=a\nother=b', 'vendor=\u0000', `vendor=${'x'.repeat(506)}`];
    for (const tracestate of refused) {
      expect(await appendedIn(traced(tracestate), { events: [noticed()] }), JSON.stringify(tracestate)).toEqual([{ correlationId: 'request-1', traceparent }]);
    }
  });
});
