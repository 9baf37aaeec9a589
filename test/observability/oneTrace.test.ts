import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleEventMessage } from '../../core/publishing';
import { createServicePublisher } from '../../core/service';
import { getRuntime } from '../../functions/runtime';
import { postCommandRequest } from '../support/commandHttp';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { useAppOnTestDatabase } from '../support/appOnTestDatabase';
import { connectNats, deleteJetStream, NATS_URL, uniqueJetStream } from '../support/natsTesting';
import { installTracingSdk, parentOf } from './support/tracingSdk';

const sdk = installTracingSdk();
useAppOnTestDatabase({ env: { COMMAND_WORKER_FUNCTION: undefined, NUDGE_FUNCTIONS: undefined } });

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const DEPOSIT_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

const named = (prefix: string) => (span: ReadableSpan) => span.name.startsWith(prefix);
const inTrace = (traceId: string) => (span: ReadableSpan) => span.spanContext().traceId === traceId;
const linksTo = (traceId: string) => (span: ReadableSpan) => span.links.some((link) => link.context.traceId === traceId);

describe('one trace, from an HTTP command to a consumer, a projection and a saga (OpenTelemetry SDK, PostgreSQL, NATS)', () => {
  let nc: NatsConnection;
  const jetStream = uniqueJetStream();
  beforeAll(async () => {
    nc = await connectNats();
  });
  afterAll(async () => {
    await deleteJetStream(nc, jetStream.name);
    await nc.close();
  });

  const publishAll = async () => {
    const runtime = await getRuntime();
    const config = { ...runtime.publishing, NATS_URL, PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix };
    // The bank's integration subject is captured by this file's stream alone: another stream may hold the real one.
    const service = { ...runtime.service, publishing: { integrationSubjects: [`${jetStream.prefix}-compliance.>`] } };
    const publisher = createServicePublisher({ db: runtime.db, service }, config);
    try {
      await untilFeedHorizonPasses(runtime.db);
      await publisher.run({ deadline: Date.now() + 10_000 });
    } finally {
      await publisher.close();
    }
  };

  it('an HTTP command with a traceparent: the HTTP span, the command, the append, the publish, the consumer; the projection and the saga link to it, the saga’s commands continue it', async () => {
    for (const accountId of ['tr-ada', 'tr-bob']) await postCommandRequest('OpenAccount', { accountId, owner: accountId, currency: 'EUR' });
    await postCommandRequest('Deposit', { accountId: 'tr-ada', amount: 100 });
    sdk.reset();

    const response = await postCommandRequest('RequestTransfer', { transferId: 'tr-1', fromAccountId: 'tr-ada', toAccountId: 'tr-bob', amount: 30, currency: 'EUR' }, { traceparent: TRACEPARENT });
    expect(response.statusCode).toBe(200);
    const [http] = sdk.spans().filter(named('POST /commands/{command}'));
    const [command] = sdk.spans().filter(named('command RequestTransfer'));
    const [append] = sdk.spans().filter(named('append transfer'));
    if (!http || !command || !append) throw new Error('the request left no HTTP, command or append span');
    expect([http, command, append].map((span) => span.spanContext().traceId)).toEqual([TRACE_ID, TRACE_ID, TRACE_ID]);
    expect([parentOf(http), parentOf(command), parentOf(append)]).toEqual([CALLER_SPAN, http.spanContext().spanId, command.spanContext().spanId]);
    expect(command.attributes).toMatchObject({ 'command.type': 'RequestTransfer', 'command.outcome': 'succeeded' });
    expect(append.attributes).toMatchObject({ 'eventstore.stream_id': 'transfer-tr-1', 'eventstore.version': 1 });

    // The event carries the append's context; publishing sends it under a span of its own, in the same trace.
    const runtime = await getRuntime();
    const { events } = await runtime.store.readStream('transfer-tr-1');
    expect(events[0]?.metadata.traceparent).toBe(`00-${TRACE_ID}-${append.spanContext().spanId}-01`);
    // Another file's open transaction can hold the feed back a moment: publish until the event went out.
    const sendSpan = () => sdk.spans().find((span) => span.name === `send ${jetStream.prefix}.transfer.TransferRequested`);
    for (let attempt = 0; attempt < 50 && !sendSpan(); attempt += 1) await publishAll();
    const send = sendSpan();
    if (!send) throw new Error('no send span for the event');
    expect(send.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': `${jetStream.prefix}.transfer.TransferRequested`, 'messaging.message.id': events[0]?.eventId });
    expect([send.spanContext().traceId, parentOf(send)]).toEqual([TRACE_ID, append.spanContext().spanId]);
    expect(sdk.spans().filter((span) => span.name === 'publish').some(linksTo(TRACE_ID))).toBe(true);

    // A consumer using the helper continues the trace from the message's headers.
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.add(jetStream.name, { durable_name: 'tracing', ack_policy: AckPolicy.Explicit, filter_subject: `${jetStream.prefix}.transfer.>` });
    const consumer = await jetstream(nc).consumers.get(jetStream.name, 'tracing');
    const batch = await consumer.fetch({ max_messages: 10, expires: 1_000 });
    const received: JsMsg[] = [];
    for await (const message of batch) received.push(message);
    const requested = received.find((message) => message.headers?.get('Event-Type') === 'TransferRequested');
    if (!requested) throw new Error('the consumer got no TransferRequested');
    expect(requested.headers?.get('traceparent')).toBe(`00-${TRACE_ID}-${send.spanContext().spanId}-01`);
    await handleEventMessage(runtime.db, 'tracing', requested, () => Promise.resolve());
    const processed = sdk.spans().find(named(`process ${jetStream.prefix}.transfer.TransferRequested`));
    expect([processed?.spanContext().traceId, processed && parentOf(processed)]).toEqual([TRACE_ID, send.spanContext().spanId]);

    // The projection's and the saga's batch spans link to it; each event handled has a span under its batch.
    await runtime.projector.runUntilCaughtUp();
    const linkedSagaBatch = () => sdk.spans().find((span) => span.name === 'saga:transfer process' && linksTo(TRACE_ID)(span));
    for (let attempt = 0; attempt < 50 && !linkedSagaBatch(); attempt += 1) {
      await runtime.sagas.run({ holder: 'tracing', deadline: Date.now() + 10_000 });
      if (!linkedSagaBatch()) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sagaBatch = sdk.spans().find((span) => span.name === 'saga:transfer process' && linksTo(TRACE_ID)(span));
    if (!sagaBatch) throw new Error('no saga batch span linked to the trace');
    const sagaEvent = sdk.spans().find((span) => span.name === 'saga transfer TransferRequested' && parentOf(span) === sagaBatch.spanContext().spanId);
    expect(sagaEvent?.links.map((link) => link.context.traceId)).toEqual([TRACE_ID]);

    // The commands the saga dispatched continue the trace of the event that started it.
    const sagaCommands = sdk.spans().filter((span) => /^command (Withdraw|RecordDebit|Deposit|RecordCredit|CompleteTransfer)$/.test(span.name));
    expect(sagaCommands.map((span) => span.name).sort()).toEqual(['command CompleteTransfer', 'command Deposit', 'command RecordCredit', 'command RecordDebit', 'command Withdraw']);
    expect(sagaCommands.every(inTrace(TRACE_ID))).toBe(true);
    const { events: debited } = await runtime.store.readStream('account-tr-ada');
    expect(debited.at(-1)).toMatchObject({ type: 'MoneyWithdrawn', metadata: { correlationId: events[0]?.metadata.correlationId, causationId: events[0]?.eventId } });
    expect(debited.at(-1)?.metadata.traceparent?.split('-')[1]).toBe(TRACE_ID);
  });

  it('a projection batch links to each event it applies, and has a span per event under it', async () => {
    sdk.reset();
    // A trace of its own: the previous spec's transfer left deposits in TRACE_ID that may not be projected yet.
    await postCommandRequest('Deposit', { accountId: 'tr-bob', amount: 5 }, { traceparent: `00-${DEPOSIT_TRACE_ID}-${CALLER_SPAN}-01` });
    const runtime = await getRuntime();
    await untilFeedHorizonPasses(runtime.db);
    const linkedBatches = () => sdk.spans().filter((span) => span.name.startsWith('projection:') && linksTo(DEPOSIT_TRACE_ID)(span));
    const projections = () => new Set(linkedBatches().map((batch) => batch.name.split(':')[1]));
    // Under some batch of a projection, a deposit's own span, linked to its trace.
    const depositLinkedUnder = (projection: string) =>
      linkedBatches()
        .filter((batch) => batch.name.split(':')[1] === projection)
        .flatMap((batch) => sdk.spans().filter((span) => span.name === 'project MoneyDeposited' && parentOf(span) === batch.spanContext().spanId))
        .some(linksTo(DEPOSIT_TRACE_ID));
    // Run until each projection has applied the deposit, not merely linked a batch to its trace.
    const expected = ['account_summaries', 'account_statements'];
    for (let attempt = 0; attempt < 50 && !expected.every(depositLinkedUnder); attempt += 1) {
      await runtime.projector.runUntilCaughtUp();
      if (!expected.every(depositLinkedUnder)) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(projections()).toEqual(new Set(expected));
    for (const projection of expected) expect(depositLinkedUnder(projection), projection).toBe(true);
  });
});
