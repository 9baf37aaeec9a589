import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStoredMessages } from '../support/natsTesting';
import { publishedDepositWithNotice, startPublishingHarness, type PublishingHarness } from '../publishing/publishingHarness';
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

/** Publishes one integration message with these headers; answers it as stored, with the names its trace headers went out under. */
async function publishNotice(kind: string, headers: Record<string, string>) {
  await publishedDepositWithNotice(harness, kind, { body: { amount: 1 }, headers });
  const [notice] = (await readStoredMessages(harness.nc, harness.streamName)).filter((message) => message.subject.endsWith(`.notices.${kind}`));
  const traceHeaders = [...(notice?.header.keys() ?? [])].filter((name) => name.toLowerCase() === 'traceparent');
  return { notice, traceHeaders };
}

function sendSpanOf(traceparent: string | undefined) {
  const [, traceId, spanId] = traceparent?.split('-') ?? [];
  const send = sdk.spans().find((span) => span.kind === SpanKind.PRODUCER && span.spanContext().spanId === spanId);
  return { traceId, parentSpanId: send?.parentSpanContext?.spanId };
}

describe("an integration message's own trace header, in another case (a relay that canonicalises names)", () => {
  it('is continued by its send span and goes out as the one traceparent the message carries, under its own name', async () => {
    const { notice, traceHeaders } = await publishNotice('traced', { Traceparent: `00-${TRACE_ID}-${SENDER_SPAN}-01` });

    expect(traceHeaders).toEqual(['Traceparent']);
    expect(sendSpanOf(notice?.header.get('Traceparent'))).toEqual({ traceId: TRACE_ID, parentSpanId: SENDER_SPAN });
  });

  it('goes out with one traceparent when the message came with two spellings, continuing the one under the exact name', async () => {
    const { notice, traceHeaders } = await publishNotice('twice', {
      Traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
      traceparent: `00-${TRACE_ID}-${SENDER_SPAN}-01`,
    });

    expect(traceHeaders).toEqual(['traceparent']);
    expect(sendSpanOf(notice?.header.get('traceparent'))).toEqual({ traceId: TRACE_ID, parentSpanId: SENDER_SPAN });
  });

  it('continues the spelling that holds a trace context when the exact one does not', async () => {
    const { notice, traceHeaders } = await publishNotice('garbled', { traceparent: 'garbage', Traceparent: `00-${TRACE_ID}-${SENDER_SPAN}-01` });

    expect(traceHeaders).toEqual(['Traceparent']);
    expect(sendSpanOf(notice?.header.get('Traceparent'))).toEqual({ traceId: TRACE_ID, parentSpanId: SENDER_SPAN });
  });
});
