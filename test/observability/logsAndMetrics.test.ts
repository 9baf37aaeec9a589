import { describe, expect, it } from 'vitest';
import { indexStories } from '../../core/browser';
import { ConcurrencyError } from '../../core/eventstore';
import { addMetricsSink, configureLogging, log, type LogFields, type MetricLabels } from '../../core/observability';
import { getProcessorStatus, runFeedProcessor } from '../../core/processing';
import { createProjector, defineProjection } from '../../core/projections';
import { sagaProcessor } from '../../core/sagas';
import { listParkedMessages, publishingConfigFromEnv, requeueParkedMessage } from '../../core/publishing';
import { createServicePublisher, reportServiceGauges } from '../../core/service';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { connectNats, deleteJetStream, NATS_URL, uniqueJetStream } from '../support/natsTesting';
import { useBankOnTestDatabase } from '../sagas/support/bankOnTestDatabase';
import { runSagasUntilSettled } from '../sagas/support/settle';

interface Line {
  level: string;
  message: string;
  fields: LogFields;
}
interface Figure {
  kind: 'count' | 'observe' | 'gauge';
  name: string;
  value: number;
  labels: MetricLabels;
}

const lines: Line[] = [];
const figures: Figure[] = [];
configureLogging((level, message, fields) => lines.push({ level, message, fields }));
addMetricsSink({
  count: (name, value, labels) => figures.push({ kind: 'count', name, value, labels }),
  observe: (name, value, _unit, labels) => figures.push({ kind: 'observe', name, value, labels }),
  gauge: (name, value, _unit, labels) => figures.push({ kind: 'gauge', name, value, labels }),
});
const figure = (name: string, labels: MetricLabels = {}) =>
  figures.filter((entry) => entry.name === name && Object.entries(labels).every(([key, value]) => entry.labels[key] === value));
const lastGauge = (name: string, labels: MetricLabels = {}) => figure(name, labels).at(-1)?.value;

describe('logs and metrics, on PostgreSQL and NATS', () => {
  const TIMEOUT_MS = 30_000;
  const bank = useBankOnTestDatabase({ transferTimeoutMs: TIMEOUT_MS });
  const execute = (type: string, payload: object, ids: object = {}) => bank().runtime.bus.execute({ type, payload, ...ids });
  const open = async (accountId: string, amount: number) => {
    await execute('OpenAccount', { accountId, owner: accountId, currency: 'EUR' });
    if (amount > 0) await execute('Deposit', { accountId, amount });
  };

  it('every line of a batch carries the event’s correlation, its causation (the event), its command and its trace', async () => {
    await execute('OpenAccount', { accountId: 'log-1', owner: 'ada', currency: 'EUR' }, { correlationId: 'corr-log-1', commandId: 'cmd-log-1' });
    const noting = defineProjection<{ type: 'AccountOpened'; data: { owner: string } }>()({
      name: 'log_notes',
      version: 1,
      tables: [],
      handlers: {
        AccountOpened: (event) => {
          if (event.streamId === 'account-log-1') log.info('noted an account', { owner: event.data.owner });
        },
      },
    });
    await untilFeedHorizonPasses(bank().db);
    await createProjector({ db: bank().db, projections: [noting], upcaster: bank().runtime.store.upcaster }).runUntilCaughtUp();
    const [noted] = lines.filter((line) => line.message === 'noted an account');
    const { events } = await bank().runtime.store.readStream('account-log-1');
    expect(noted?.fields).toMatchObject({
      correlationId: 'corr-log-1',
      causationId: events[0]?.eventId,
      commandId: 'cmd-log-1',
      traceId: events[0]?.metadata.traceparent?.split('-')[1],
      owner: 'ada',
    });
  });

  it('every line of a saga step carries the saga’s correlation, the step’s causation and command id, and the trace', async () => {
    await open('log-from', 50);
    await open('log-to', 0);
    await execute('RequestTransfer', { transferId: 'log-t', fromAccountId: 'log-from', toAccountId: 'log-to', amount: 10, currency: 'EUR' }, { correlationId: 'corr-transfer' });
    await runSagasUntilSettled(bank().runtime);
    const steps = lines.filter((line) => line.message === 'saga step dispatched' && line.fields.sagaId === 'log-t');
    expect(steps.map((line) => line.fields.commandType)).toEqual(['Withdraw', 'RecordDebit', 'Deposit', 'RecordCredit', 'CompleteTransfer']);
    const { events } = await bank().runtime.store.readStream('transfer-log-t');
    for (const [index, step] of steps.entries()) {
      expect(step.fields).toMatchObject({ correlationId: 'corr-transfer', commandId: `saga:transfer:log-t:${String(index + 1)}`, traceId: events[0]?.metadata.traceparent?.split('-')[1] });
      expect(typeof step.fields.causationId).toBe('string');
    }
    expect(steps[0]?.fields.causationId).toBe(events[0]?.eventId);
  });

  it('counts commands by outcome and times them; times appends; counts conflicts', async () => {
    await open('m-1', 0);
    await expect(execute('Withdraw', { accountId: 'm-1', amount: 5 })).rejects.toMatchObject({ rule: 'INSUFFICIENT_FUNDS' });
    expect(figure('Commands', { commandType: 'Withdraw', outcome: 'refused' })).toHaveLength(1);
    expect(figure('Commands', { commandType: 'OpenAccount', outcome: 'succeeded' }).length).toBeGreaterThan(0);
    expect(figure('CommandLatency', { commandType: 'Withdraw' })[0]?.value).toBeGreaterThan(0);
    expect(figure('AppendLatency', { streamType: 'account' }).length).toBeGreaterThan(0);

    const before = figure('AppendConflicts', { streamType: 'account' }).length;
    const append = () => bank().runtime.store.appendToStream({ streamId: 'account-m-1', streamType: 'account', expectedVersion: 1, events: [{ type: 'MoneyDeposited', data: { amount: 1 } }] });
    const results = await Promise.allSettled([append(), append()]);
    expect(results.filter((result) => result.status === 'rejected' && result.reason instanceof ConcurrencyError)).toHaveLength(1);
    expect(figure('AppendConflicts', { streamType: 'account' }).length).toBe(before + 1);
  });

  it('reports projection lag, sagas by phase, overdue timeouts, the publishing backlog and parked messages', async () => {
    const { runtime, clock } = bank();
    // Lag: events no projector has applied yet.
    await runtime.projector.runUntilCaughtUp();
    await open('lag-1', 10);
    await reportServiceGauges(runtime, clock.now());
    const lag = figure('ProjectionLagEvents', { projection: 'account_summaries' }).slice(-4).reduce((sum, entry) => sum + entry.value, 0);
    expect(lag).toBeGreaterThan(0);

    // An overdue timeout: a transfer started but its steps never dispatched (as if its worker died), its timeout long due.
    await open('od-from', 10);
    await execute('RequestTransfer', { transferId: 'od-t', fromAccountId: 'od-from', toAccountId: 'od-to', amount: 5, currency: 'EUR' });
    const [transferSaga] = runtime.sagas.sagas;
    if (!transferSaga) throw new Error('the bank has a transfer saga');
    const stalled = sagaProcessor(transferSaga, { upcaster: runtime.store.upcaster, clock: clock.now, claimMs: 60_000, dispatch: () => Promise.resolve() });
    // Another file's open transaction can hold the feed back a moment: run until the instance exists.
    for (let attempt = 0; attempt < 200; attempt += 1) {
      await runFeedProcessor(stalled, { db: bank().db, holder: 'metrics', deadline: Date.now() + 10_000, leaseTtlMs: 5_000, concurrency: 4 });
      const { rows } = await bank().db.query("SELECT 1 FROM saga_instances WHERE saga_id = 'od-t'");
      if (rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await bank().db.query("UPDATE saga_timeouts SET due_at = $1 WHERE saga_id = 'od-t'", [new Date(clock.now().getTime() - 60_000)]);
    await reportServiceGauges(runtime, clock.now());
    expect(lastGauge('SagaTimeoutsOverdue', { saga: 'transfer' })).toBe(1);
    expect(lastGauge('SagaInstances', { saga: 'transfer', phase: 'completed' })).toBeGreaterThan(0);
    expect(lastGauge('SagasStuck', { saga: 'transfer' })).toBe(0);

    // Publishing: a backlog, then a message no stream takes, parked.
    expect(lastGauge('PublishBacklog')).toBeGreaterThan(0);
    const nc = await connectNats();
    const jetStream = uniqueJetStream();
    try {
      const service = { ...runtime.service, publishing: { integrationSubjects: [], routing: { subjectFor: (event: { streamId: string }) => (event.streamId === 'account-lag-1' ? `nowhere-${jetStream.prefix}.lost` : undefined) } } };
      const publisher = createServicePublisher({ db: bank().db, service }, { ...publishingConfigFromEnv({}), NATS_URL, PUBLISH_STREAM: jetStream.name, PUBLISH_SUBJECT_PREFIX: jetStream.prefix });
      await untilFeedHorizonPasses(bank().db);
      await publisher.run({ deadline: Date.now() + 15_000 });
      await publisher.close();
    } finally {
      await deleteJetStream(nc, jetStream.name);
      await nc.close();
    }
    expect(figure('MessagesParked').length).toBeGreaterThan(0);
    expect(figure('PublishLatency').length).toBeGreaterThan(0);
    await reportServiceGauges(runtime, clock.now());
    // Counted once per batch: the figures add up to the messages parked.
    const parked = figure('MessagesParked').reduce((sum, entry) => sum + entry.value, 0);
    expect(lastGauge('ParkedMessages')).toBe(parked);
    expect(lastGauge('RequeuedMessages')).toBe(0);

    // Requeued, it needs no one: it moves from the parked gauge to the requeued one until it goes out.
    const [first] = await listParkedMessages(bank().db);
    expect(await requeueParkedMessage(bank().db, first?.messageId ?? '', first?.source)).toBe(true);
    await reportServiceGauges(runtime, clock.now());
    expect({ parked: lastGauge('ParkedMessages'), requeued: lastGauge('RequeuedMessages') }).toEqual({ parked: parked - 1, requeued: 1 });
  }, 60_000);
});

describe('gauges of processors that never ran, on PostgreSQL', () => {
  const bank = useBankOnTestDatabase();
  const execute = (type: string, payload: object) => bank().runtime.bus.execute({ type, payload });

  it('count what waits for a saga and a projection from their start, not as nothing', async () => {
    const { runtime, db } = bank();
    await execute('OpenAccount', { accountId: 'never-from', owner: 'ada', currency: 'EUR' });
    await execute('OpenAccount', { accountId: 'never-to', owner: 'bob', currency: 'EUR' });
    await execute('RequestTransfer', { transferId: 'never-t', fromAccountId: 'never-from', toAccountId: 'never-to', amount: 5, currency: 'EUR' });
    await untilFeedHorizonPasses(db);
    const [transferProcessor] = runtime.sagas.processors;
    if (!transferProcessor) throw new Error('the bank has a transfer saga');
    expect(await getProcessorStatus(db, transferProcessor)).toEqual([]);

    const from = figures.length;
    await reportServiceGauges(runtime);

    const reported = figures.slice(from);
    const gauge = (name: string, labels: MetricLabels) =>
      reported.filter((entry) => entry.name === name && Object.entries(labels).every(([key, value]) => entry.labels[key] === value));
    expect(gauge('SagaLagEvents', { saga: 'transfer' }).map((entry) => entry.value)).toEqual([1]);
    expect(gauge('SagaLagSeconds', { saga: 'transfer' })[0]?.value).toBeGreaterThan(0);
    const { rows } = await db.query<{ events: number }>('SELECT count(*)::int AS events FROM events');
    const summaryLag = gauge('ProjectionLagEvents', { projection: 'account_summaries' });
    expect(summaryLag.map((entry) => entry.labels.partition)).toEqual(['0', '1', '2', '3']);
    expect(summaryLag.reduce((sum, entry) => sum + entry.value, 0)).toBe(rows[0]?.events);
    expect(gauge('StoryIndexLagEvents', {}).map((entry) => entry.value)).toEqual([rows[0]?.events]);
    expect(gauge('StoryIndexLagSeconds', {})[0]?.value).toBeGreaterThan(0);

    // Once the story index has run, nothing waits for it.
    await indexStories(db, { holder: 'gauge-spec', deadline: Date.now() + 10_000 });
    const after = figures.length;
    await reportServiceGauges(runtime);
    expect(figures.slice(after).filter((entry) => entry.name === 'StoryIndexLagEvents').map((entry) => entry.value)).toEqual([0]);
  });
});
