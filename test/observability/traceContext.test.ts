import { describe, expect, it } from 'vitest';
import { acceptTraceparent, freshTraceparent, parseTraceparent } from '../../core/observability';
import { getRuntime } from '../../functions/runtime';
import { postCommandRequest } from '../support/commandHttp';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { installTracingSdk, parentOf } from './support/tracingSdk';

const sdk = installTracingSdk();
useAppOnTestDatabase();

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const INVALID = {
  garbage: 'garbage',
  'over-long': `${VALID}-${'x'.repeat(600)}`,
  'all-zero trace id': '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
  'all-zero span id': '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
  'version ff': 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  'upper case': '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
};

describe('W3C traceparent at the edge', () => {
  it('keeps a valid one and replaces an invalid one with a fresh trace', () => {
    expect(acceptTraceparent(VALID)).toBe(VALID);
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future')).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    for (const [what, value] of Object.entries(INVALID)) {
      expect(parseTraceparent(value), what).toBeNull();
      const accepted = acceptTraceparent(value);
      expect(parseTraceparent(accepted), what).not.toBeNull();
      expect(accepted, what).not.toBe(value);
    }
  });

  it('starts each fresh trace with valid ids of its own: sampled, and no trace or span id twice in 10,000', () => {
    const parsed = Array.from({ length: 10_000 }, () => parseTraceparent(freshTraceparent()));
    expect(parsed.every((parent) => parent?.flags === 1)).toBe(true);
    expect(new Set(parsed.map((parent) => parent?.traceId)).size).toBe(10_000);
    expect(new Set(parsed.map((parent) => parent?.spanId)).size).toBe(10_000);
  });

  it('draws every hex digit of a fresh trace id and span id at random', () => {
    const ids = Array.from({ length: 2_000 }, () => {
      const parent = parseTraceparent(freshTraceparent());
      return `${parent?.traceId ?? ''}${parent?.spanId ?? ''}`;
    });
    for (let position = 0; position < 48; position += 1) {
      expect(new Set(ids.map((id) => id[position])).size, `digit ${position}`).toBe(16);
    }
  });
});

describe('a command over HTTP, traced by the OpenTelemetry SDK', () => {
  const open = async (headers: Record<string, string>) => {
    sdk.reset();
    const accountId = crypto.randomUUID();
    const response = await postCommandRequest('OpenAccount', { accountId, owner: 'ada', currency: 'EUR' }, headers);
    expect(response.statusCode).toBe(200);
    const { events } = await (await getRuntime()).store.readStream(`account-${accountId}`);
    const http = sdk.spans().find((span) => span.name === 'POST /commands/{command}');
    const append = sdk.spans().find((span) => span.name === 'append account');
    if (!http || !append) throw new Error('no HTTP or append span');
    return { http, append, stored: events[0]?.metadata.traceparent, storedState: events[0]?.metadata.tracestate };
  };

  it('without a traceparent starts a trace of its own, which its events carry', async () => {
    const { http, append, stored } = await open({});
    expect(parentOf(http)).toBeUndefined();
    expect(append.spanContext().traceId).toBe(http.spanContext().traceId);
    expect(stored).toBe(`00-${http.spanContext().traceId}-${append.spanContext().spanId}-01`);
  });

  it.each(Object.entries(INVALID))('with a %s traceparent starts a fresh trace, and never stores what came', async (_what, value) => {
    const { http, stored } = await open({ traceparent: value });
    expect(parentOf(http)).toBeUndefined();
    expect(parseTraceparent(stored)).not.toBeNull();
    expect(stored).not.toContain(value.split('-')[1] ?? value);
  });

  it('with a valid traceparent keeps its tracestate on the events, and drops one the store would refuse instead of refusing the command', async () => {
    expect((await open({ traceparent: VALID, tracestate: 'vendor=value' })).storedState).toBe('vendor=value');
    // A trailing 0xA0 byte arrives as a no-break space, which NATS would trim from the header.
    for (const tracestate of ['vendor=value\u00a0', `vendor=${'x'.repeat(600)}`]) {
      const { http, storedState } = await open({ traceparent: VALID, tracestate });
      expect(parentOf(http), JSON.stringify(tracestate)).toBe(VALID.split('-')[2]);
      expect(storedState, JSON.stringify(tracestate)).toBeUndefined();
    }
  });
});
