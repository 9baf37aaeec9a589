import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetStreamPublishing, type PublishResult } from '../../core/publishing/jetStreamPublishing';
import type { PublishMessage } from '../../core/publishing';
import { connectNats, deleteJetStream, readStoredMessages, uniqueJetStream } from '../support/natsTesting';
import { startPrivateNatsServer } from '../support/privateNatsServer';
import { startSlowLinkNatsCluster } from '../support/slowLinkNatsCluster';

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

let sent = 0;
function message(overrides: Partial<PublishMessage> = {}): PublishMessage {
  sent += 1;
  return {
    messageId: randomUUID(),
    orderingKey: 'account-1',
    subject: `${prefix}.account.MoneyDeposited`,
    payload: JSON.stringify({ amount: sent }),
    headers: { 'Event-Type': 'MoneyDeposited' },
    ...overrides,
  };
}

describe('publishing to JetStream with acknowledgements on one inbox', () => {
  it('settles each message with its own acknowledgement, and a repeated event id as a duplicate', async () => {
    const publishing = jetStreamPublishing(nc, '_INBOX');
    const first = [message(), message(), message()];
    const repeated = { ...message(), messageId: first[1]?.messageId ?? '' };

    const results = await publishing.publishAll([...first, repeated], 2_000);

    expect(results.map((result) => [result.message, result.kind, result.kind === 'published' && result.duplicate])).toEqual([
      [first[0], 'published', false],
      [first[1], 'published', false],
      [first[2], 'published', false],
      [repeated, 'published', true],
    ]);
    const stored = await readStoredMessages(nc, streamName);
    expect(stored.map((stored) => stored.header.get('Nats-Msg-Id'))).toEqual(first.map((one) => one.messageId));
    expect(stored.map((stored) => stored.string())).toEqual(first.map((one) => one.payload));
  });

  it('reports "no responders" for a subject no stream captures, for refusals.ts to judge', async () => {
    const publishing = jetStreamPublishing(nc, '_INBOX');
    const [result] = await publishing.publishAll([message({ subject: `${prefix}x.account.Nowhere` })], 2_000);
    expect(result).toMatchObject({ kind: 'refused', error: { name: 'NoResponders' } });
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
    try {
      const publishing = jetStreamPublishing(nc, '_INBOX');
      const started = performance.now();
      const results = await publishing.publishAll([message({ subject: `${prefix}silent.account.Lost` }), message()], 300);
      expect(results).toMatchObject([
        { kind: 'unreachable', error: { name: 'TimeoutError' } },
        { kind: 'published' },
      ]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      silent.unsubscribe();
    }
  });

  it('gives up on what is still unanswered when the connection closes, without waiting for the timeout', async () => {
    const own = await connectNats();
    const publishing = jetStreamPublishing(own, '_INBOX');
    const started = performance.now();
    const pending = publishing.publishAll([message(), message()], 10_000);
    await own.close();
    const results = await pending;
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(results).toHaveLength(2);
    for (const result of results) expect(['published', 'unreachable']).toContain(result.kind);
  });

  it('subscribes to its acknowledgements again once the server lets it, after a permission violation closed the inbox', async () => {
    const users = (inboxes: string) =>
      `authorization { users = [ { user: publisher, password: secret, permissions: { publish: ">", subscribe: ${inboxes} } } ] }`;
    const nats = await startPrivateNatsServer({ settings: users('{ allow: ">", deny: "_PUB_INBOX.>" }') });
    const own = await connectNats({ servers: nats.url, user: 'publisher', pass: 'secret' });
    try {
      const { name: ownStream, prefix: ownPrefix } = uniqueJetStream();
      await (await jetstreamManager(own)).streams.add({ name: ownStream, subjects: [`${ownPrefix}.>`] });
      const publishing = jetStreamPublishing(own, '_PUB_INBOX');
      const held = message({ subject: `${ownPrefix}.account.Held` });
      const [denied] = await publishing.publishAll([held], 500);
      expect(denied).toMatchObject({ kind: 'unreachable' });

      // The permissions are fixed on the server; the same connection goes on.
      await nats.reconfigure(users('">"'));
      let result: PublishResult | undefined;
      for (let attempt = 0; attempt < 40 && result?.kind !== 'published'; attempt++) [result] = await publishing.publishAll([held], 250);
      expect(result).toMatchObject({ kind: 'published' });
      const stored = await readStoredMessages(own, ownStream);
      expect(stored.map((one) => one.header.get('Nats-Msg-Id'))).toEqual([held.messageId]);
    } finally {
      await own.close();
      await nats.close();
    }
  });
});


describe('a plain subscriber that answers on a subject a stream captures', () => {
  it('given its answer comes before JetStream’s (the stream on a server across a slow link), the message is settled by JetStream’s acknowledgement and stored once', async () => {
    const cluster = await startSlowLinkNatsCluster(50);
    const client = await connectNats({ servers: cluster.nearUrl });
    const service = await connectNats({ servers: cluster.nearUrl });
    try {
      const far = uniqueJetStream();
      await (await jetstreamManager(client)).streams.add({ name: far.name, subjects: [`${far.prefix}.>`], placement: cluster.farPlacement });
      const subject = `${far.prefix}.service.requests`;
      let answered = 0;
      service.subscribe(subject, {
        callback: (_error, request) => {
          answered += 1;
          request.respond('ok');
        },
      });
      await service.flush();
      const sentMessage = message({ subject });

      const [result] = await jetStreamPublishing(client, '_INBOX').publishAll([sentMessage], 5_000);

      expect(answered).toBe(1);
      expect(result).toMatchObject({ kind: 'published', duplicate: false });
      const stored = await readStoredMessages(client, far.name);
      expect(stored.map((storedMessage) => storedMessage.header.get('Nats-Msg-Id'))).toEqual([sentMessage.messageId]);
    } finally {
      await service.close();
      await client.close();
      await cluster.close();
    }
  }, 60_000);
});
