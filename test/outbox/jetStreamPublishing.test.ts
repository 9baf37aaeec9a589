import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetStreamPublishing } from '../../core/outbox/jetStreamPublishing';
import type { OutboxMessage } from '../../core/outbox/outboxMessages';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';

const { name: streamName, prefix } = uniqueJetStream();
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: streamName, subjects: [`${prefix}.>`] });
});

afterAll(async () => {
  await deleteJetStream(nc, streamName);
  await nc.close();
});

let nextId = 1n;
function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  const id = nextId++;
  return {
    id,
    txId: 1n,
    eventId: randomUUID(),
    streamId: 'account-1',
    streamVersion: Number(id),
    subject: `${prefix}.account.MoneyDeposited`,
    payload: JSON.stringify({ amount: Number(id) }),
    headers: { 'Event-Type': 'MoneyDeposited' },
    attempts: 0,
    delayed: false,
    ...overrides,
  };
}

describe('publishing to JetStream with acknowledgements on one inbox', () => {
  it('settles each message with its own acknowledgement, and a repeated event id as a duplicate', async () => {
    const publishing = jetStreamPublishing(nc, '_INBOX');
    const first = [message(), message(), message()];
    const repeated = { ...message(), eventId: first[1]?.eventId ?? '' };

    const results = await publishing.publishAll([...first, repeated], 2_000);

    expect(results.map((result) => [result.message.id, result.kind, result.kind === 'published' && result.duplicate])).toEqual([
      [first[0]?.id, 'published', false],
      [first[1]?.id, 'published', false],
      [first[2]?.id, 'published', false],
      [repeated.id, 'published', true],
    ]);
    const stored = await readStoredMessages(nc, streamName);
    expect(stored.map((stored) => stored.header.get('Nats-Msg-Id'))).toEqual(first.map((sent) => sent.eventId));
    expect(stored.map((stored) => stored.string())).toEqual(first.map((sent) => sent.payload));
  });

  it('calls a subject no stream captures unreachable, not refused: the message is not at fault', async () => {
    const publishing = jetStreamPublishing(nc, '_INBOX');
    const [result] = await publishing.publishAll([message({ subject: `${prefix}x.account.Nowhere` })], 2_000);
    expect(result).toMatchObject({ kind: 'unreachable', error: { name: 'NoResponders' } });
  });

  it('refuses a message NATS cannot send at all, without waiting and without holding up the others', async () => {
    const publishing = jetStreamPublishing(nc, '_INBOX');
    const started = performance.now();
    const results = await publishing.publishAll([message({ subject: 'has a space' }), message()], 5_000);
    expect(results.map((result) => result.kind)).toEqual(['refused', 'published']);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('calls a message unanswered within the timeout unreachable', async () => {
    // A plain subscriber that never answers: the server sees a responder, so no "no responders".
    const silent = nc.subscribe(`${prefix}silent.>`);
    const publishing = jetStreamPublishing(nc, '_INBOX');
    const started = performance.now();
    const results = await publishing.publishAll([message({ subject: `${prefix}silent.account.Lost` }), message()], 300);
    expect(results).toMatchObject([
      { kind: 'unreachable', error: { name: 'TimeoutError' } },
      { kind: 'published' },
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    silent.unsubscribe();
  });

  it('gives up on what is still unanswered when the connection closes, without waiting for the timeout', async () => {
    const own = await connectNats();
    const publishing = jetStreamPublishing(own, '_INBOX');
    const started = performance.now();
    const pending = publishing.publishAll([message(), message()], 10_000);
    await own.close();
    const results = await pending;
    expect(performance.now() - started).toBeLessThan(2_000);
    for (const result of results) expect(['published', 'unreachable']).toContain(result.kind);
  });
});
