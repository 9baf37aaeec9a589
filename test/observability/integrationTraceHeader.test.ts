import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueStreamId, deposited, type AccountEvent } from '../support/fixtures';
import { readStoredMessages } from '../support/natsTesting';
import { publishEverything, startPublishingHarness, type PublishingHarness } from '../publishing/publishingHarness';
import { installTracingSdk } from './support/tracingSdk';

const sdk = installTracingSdk();
let harness: PublishingHarness;

beforeAll(async () => {
  harness = await startPublishingHarness();
});

afterAll(async () => {
  await harness.close();
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SENDER_SPAN = '00f067aa0ba902b7';

describe("an integration message's own trace header, in another case (a relay that canonicalises names)", () => {
  it('is continued by its send span and goes out as the one traceparent the message carries, under its own name', async () => {
    const streamId = uniqueStreamId();
    const headers = { Traceparent: `00-${TRACE_ID}-${SENDER_SPAN}-01` };
    await harness.store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [deposited(1)],
      messages: [{ subject: `${harness.subjectPrefix}.notices.traced`, orderingKey: streamId, body: { amount: 1 }, headers }],
    });

    await publishEverything(harness.db, harness.publisher());

    const [notice] = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject.endsWith('.notices.traced'));
    const traceHeaders = [...(notice?.header.keys() ?? [])].filter((name) => name.toLowerCase() === 'traceparent');
    expect(traceHeaders).toEqual(['Traceparent']);
    const [, traceId, spanId] = notice?.header.get('Traceparent').split('-') ?? [];
    const send = sdk.spans().find((span) => span.kind === SpanKind.PRODUCER && span.spanContext().spanId === spanId);
    expect(traceId).toBe(TRACE_ID);
    expect(send?.parentSpanContext?.spanId).toBe(SENDER_SPAN);
  });
});
