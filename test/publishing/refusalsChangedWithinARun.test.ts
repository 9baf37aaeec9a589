import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { eventRouting, listParkedMessages, requeueParkedMessage } from '../../core/publishing';
import { deposited, opened, sleep, uniqueStreamId, withdrawn, type AccountEvent } from '../support/fixtures';
import { connectNats, readStoredMessages } from '../support/natsTesting';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { messagesOf, nothingWaits, runUntil, startPublishingHarness, type PublishingHarness } from './publishingHarness';

type Attachment = { type: 'StatementAttached'; data: { pdf: string } };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
async function harness(): Promise<PublishingHarness> {
  const started = await startPublishingHarness();
  cleanups.push(() => started.close());
  return started;
}

const text = (data: unknown) => (typeof data === 'string' ? data : data instanceof Uint8Array ? new TextDecoder().decode(data) : '');

/**
 * `nc`, with `afterAnswer` run (once) right after JetStream answered the first API
 * request `when` picks, before the publisher sees the answer: an operator's change
 * made just after the publisher asked. Publishes `delay` picks by message id are sent
 * late: JetStream stores them, but after the publisher stopped waiting.
 */
function operatorAfterQuestion(
  nc: NatsConnection,
  when: (subject: string, payload: string, seen: string[]) => boolean,
  afterAnswer: () => Promise<void>,
  delay: (messageId: string | undefined) => number = () => 0,
): NatsConnection {
  const seen: string[] = [];
  const delayed = new Set<string>();
  let done = false;
  return new Proxy(nc, {
    get(target, property) {
      if (property === 'request') {
        return async (subject: string, payload: unknown, ...rest: unknown[]) => {
          const answer = await (target.request as (...args: unknown[]) => Promise<unknown>)(subject, payload, ...rest);
          seen.push(subject);
          if (!done && when(subject, text(payload), seen)) {
            done = true;
            await afterAnswer();
          }
          return answer;
        };
      }
      if (property === 'publish') {
        return (subject: string, payload: unknown, options?: { headers?: MsgHdrs; reply?: string }) => {
          const messageId = options?.headers?.get('Nats-Msg-Id');
          const late = messageId !== undefined && !delayed.has(messageId) ? delay(messageId) : 0;
          if (messageId !== undefined && late > 0) delayed.add(messageId);
          if (late === 0) {
            target.publish(subject, payload as string, options);
            return;
          }
          setTimeout(() => {
            if (!target.isClosed()) target.publish(subject, payload as string, options);
          }, late);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('a refusal an operator clears within a publisher run', () => {
  it('"no stream captures the subject", then a stream is added: a later publish on it that times out is retried, not parked, and stored once', async () => {
    const h = await harness();
    const subject = `late${h.subjectPrefix}.withdrawn`;
    const lateStream = `${h.streamName}_LATE`;
    const jsm = await jetstreamManager(h.nc);
    cleanups.push(() => jsm.streams.delete(lateStream).catch(() => false));
    const routing = eventRouting({ prefix: h.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? subject : undefined) });
    const streamId = uniqueStreamId();
    const appended = await h.store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), withdrawn(1), withdrawn(2), deposited(3)],
    });
    const [, first, second] = appended.events.map((event) => event.eventId);
    const publishTimeoutMs = 500;
    const publisher = h.publisher({
      routing,
      publishTimeoutMs,
      retryBackoff: { baseMs: 10, maxMs: 50 },
      connect: async () =>
        operatorAfterQuestion(
          await connectNats(),
          // The question after the first withdrawal's "no responders": which stream captures the subject?
          (api, payload) => api.endsWith('STREAM.NAMES') && payload.includes(subject),
          // An operator adds a stream for it, with a duplicate window of two seconds (a stand-in for
          // the default two minutes, which a person's requeue, after an alert, comes well after).
          async () => {
            await jsm.streams.add({ name: lateStream, subjects: [subject], duplicate_window: nanos(2_000) });
          },
          // The second withdrawal's acknowledgement comes after the publish timeout (JetStream slow): stored all the same.
          (messageId) => (messageId === second ? publishTimeoutMs + 300 : 0),
        ),
    });

    await untilFeedHorizonPasses(h.db);
    await runUntil(publisher, async (totals) => totals.caughtUp && (await nothingWaits(h.db)));
    await sleep(500); // the late publish lands
    const parkedAfterRun = (await listParkedMessages(h.db)).map((parked) => parked.messageId);

    // A person requeues what is parked, once the window has passed (as it would have by then).
    await sleep(2_200);
    for (const messageId of parkedAfterRun) await requeueParkedMessage(h.db, messageId);
    await untilFeedHorizonPasses(h.db);
    await runUntil(publisher, async (totals) => totals.caughtUp && (await nothingWaits(h.db)) && (await listParkedMessages(h.db)).length === 0);

    const stored = (await readStoredMessages(h.nc, lateStream)).map((message) => message.header.get('Event-Id'));
    expect({
      parkedAfterRun,
      copiesOfFirst: stored.filter((id) => id === first).length,
      copiesOfSecond: stored.filter((id) => id === second).length,
    }).toEqual({
      // Parked when no stream captured the subject: right.
      parkedAfterRun: [first],
      copiesOfFirst: 1,
      // A timeout on a captured subject is retried, never parked; and stored once.
      copiesOfSecond: 1,
    });
  });

  it('a stream’s max_bytes, then raised: a later message within the new limit, refused while the stream is full, waits for room instead of being parked', async () => {
    const h = await harness();
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.add({ name: h.streamName, subjects: [`${h.subjectPrefix}.>`], max_bytes: 4_096, discard: DiscardPolicy.New, duplicate_window: nanos(10 * 60_000) });
    const streamId = uniqueStreamId();
    const appended = await h.store.appendToStream<AccountEvent | Attachment>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), { type: 'StatementAttached', data: { pdf: 'x'.repeat(24_000) } }, { type: 'StatementAttached', data: { pdf: 'y'.repeat(6_000) } }, deposited(3)],
    });
    const [, tooLarge] = appended.events.map((event) => event.eventId);
    const filler = `${h.subjectPrefix}.filler`;
    const publisher = h.publisher({
      retryBackoff: { baseMs: 10, maxMs: 50 },
      connect: async () =>
        operatorAfterQuestion(
          await connectNats(),
          // The publisher's question after the first refusal for room: the stream's config (after finding it).
          (api, _payload, seen) => api.includes('STREAM.INFO') && seen.some((earlier) => earlier.endsWith('STREAM.NAMES')),
          // An operator raises max_bytes to 20,000, and other publishers fill most of it.
          async () => {
            await jsm.streams.update(h.streamName, { max_bytes: 20_000 });
            for (let index = 0; index < 3; index++) await jetstream(h.nc).publish(filler, 'f'.repeat(4_500));
          },
        ),
    });

    // Runs of at most 1.5 s: one retrying the second attachment would wait for room until its deadline.
    await untilFeedHorizonPasses(h.db);
    await runUntil(publisher, (totals) => totals.parked >= 1 && (totals.caughtUp || /maximum bytes exceeded/.test(totals.lastError ?? '')), 1_500);
    const parkedWhileFull = (await listParkedMessages(h.db)).map((parked) => parked.messageId);

    // Room is made: what was held back goes out, in order.
    await jsm.streams.purge(h.streamName, { filter: filler });
    await untilFeedHorizonPasses(h.db);
    await runUntil(publisher, async (totals) => totals.caughtUp && (await nothingWaits(h.db)), 1_500);
    const versions = (await messagesOf(h, [streamId])).map((message) => Number(message.header.get('Stream-Version')));

    expect({ parkedWhileFull, versions }).toEqual({
      // 24,600 bytes, over max_bytes before and after the raise: parked, rightly.
      parkedWhileFull: [tooLarge],
      // 6,600 bytes, within the raised 20,000: it waits for room and goes out in order.
      versions: [1, 3, 4],
    });
  });
});
