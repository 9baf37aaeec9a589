import net from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { connectWithin, eventRouting, listParkedMessages, parkMessages, requeueParkedMessage, type PublisherOptions } from '../../core/publishing';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deposited, opened, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { connectNats, NATS_URL, readStoredMessages } from '../support/natsTesting';
import { startPrivateNatsServer } from '../support/privateNatsServer';
import { slowJetStreamApi } from '../support/slowJetStreamApi';
import { startTcpProxy } from '../support/tcpProxy';
import { messagesOf, publishEverything, silentSubscriber, startPublishingHarness, type PublishingHarness } from './publishingHarness';

let harness: PublishingHarness;

beforeAll(async () => {
  harness = await startPublishingHarness();
});

afterAll(async () => {
  await harness.close();
});

/** A new stream of this many events: an account opened, then deposits. */
async function oneStreamOf(count: number) {
  const streamId = uniqueStreamId();
  const { events } = await harness.store.appendToStream<AccountEvent>({
    streamId,
    streamType: 'account',
    expectedVersion: 'no_stream',
    events: [opened(), ...Array.from({ length: count - 1 }, (_, index) => deposited(index + 1))],
  });
  return { streamId, events };
}

// A subject no stream captures, where a plain subscriber listens and never answers: each
// message waits out the publish timeout before it is parked, one round per message of
// the stream. A batch can thus hold far more waiting than a function's margin allows.
describe('the run deadline inside a batch', () => {
  it('given a stream whose every event waits out the publish timeout, when the deadline comes mid-batch, then the run ends within a round of it and the next runs park the rest, each once', async () => {
    const PUBLISH_TIMEOUT_MS = 400;
    const EVENTS = 20;
    const silentSubject = `${harness.subjectPrefix}silent.notes`;
    await silentSubscriber(harness, silentSubject);
    const { streamId } = await oneStreamOf(EVENTS);
    // Readable by the timed run, whatever other files' transactions hold the feed's horizon back.
    await untilFeedHorizonPasses(harness.db);
    const routing = eventRouting({ prefix: harness.subjectPrefix, subjectFor: (event) => (event.streamId === streamId ? silentSubject : undefined) });
    const publisher = harness.publisher({ routing, publishTimeoutMs: PUBLISH_TIMEOUT_MS, partitions: 1 });

    // Room for the run to connect and start its batch on a loaded machine; the batch holds 8 s of rounds.
    const deadline = Date.now() + 1_000;
    const first = await publisher.run({ deadline });
    // One round past the deadline at most: its timeout, and the question whether a stream captures the subject.
    expect(Date.now() - deadline).toBeLessThan(2 * PUBLISH_TIMEOUT_MS + 2_000);
    expect(first.parked).toBeGreaterThan(0);
    expect(first.parked).toBeLessThan(EVENTS);

    let parked = first.parked;
    for (let run = 0; run < 20 && parked < EVENTS; run++) parked += (await publisher.run({ deadline: Date.now() + 1_000 })).parked;
    const listed = (await listParkedMessages(harness.db, { limit: 1_000 })).filter((message) => message.orderingKey === streamId);
    expect(parked).toBe(EVENTS);
    expect(listed).toHaveLength(EVENTS);
  }, 30_000);

  it('given requeued messages of one stream that each wait out the publish timeout, when the deadline comes, then the run ends within a round of it, or of half its turn’s lease, and leaves the rest requeued', async () => {
    const PUBLISH_TIMEOUT_MS = 300;
    const EVENTS = 30;
    const silentSubject = `${harness.subjectPrefix}silent.requeued`;
    await silentSubscriber(harness, silentSubject);
    const { streamId, events } = await oneStreamOf(EVENTS);
    const publisher = harness.publisher({ publishTimeoutMs: PUBLISH_TIMEOUT_MS, partitions: 1 });
    await publishEverything(harness.db, publisher);
    // Parked as a subject no stream captured would be, then requeued: they go out on the silent subject.
    await parkMessages(harness.db, 'events', events.map((event) => ({ messageId: event.eventId, orderingKey: streamId, subject: silentSubject, error: 'no stream' })));
    for (const event of events) expect(await requeueParkedMessage(harness.db, event.eventId)).toBe(true);

    const deadline = Date.now() + 1_000;
    await publisher.run({ deadline });
    expect(Date.now() - deadline).toBeLessThan(2 * PUBLISH_TIMEOUT_MS + 2_000);
    const listed = (await listParkedMessages(harness.db, { limit: 1_000 })).filter((message) => message.orderingKey === streamId);
    expect(listed).toHaveLength(EVENTS);
    expect(listed.filter((message) => message.requeuedAt !== null).length).toBeGreaterThan(0);

    // Far from its deadline, the run stops sending them once half of the requeue turn's lease (not renewed) is gone.
    const leased = harness.publisher({ publishTimeoutMs: PUBLISH_TIMEOUT_MS, partitions: 1, leaseTtlMs: 2_000 });
    const startedAt = Date.now();
    await leased.run({ deadline: startedAt + 20_000 });
    expect(Date.now() - startedAt).toBeLessThan(1_000 + 2 * PUBLISH_TIMEOUT_MS + 2_000);
  }, 30_000);
});

// A run's first batch checks the stream: a request for the account's JetStream, then
// one for the stream, perhaps an update, each with a timeout of its own.
describe('the run deadline with NATS stalled on the open connection', () => {
  it('given a server that stops answering on the open connection, the run ends within three publish timeouts of its deadline, publishes the event once the server answers again, and closes while it stalls again', async () => {
    const PUBLISH_TIMEOUT_MS = 500;
    const nats = await startPrivateNatsServer();
    const publisher = harness.publisher({ connect: () => connectNats({ servers: nats.url }), publishTimeoutMs: PUBLISH_TIMEOUT_MS, partitions: 1 });
    try {
      // A first event opens the connection, which stays open for the runs after it.
      await oneStreamOf(1);
      await publishEverything(harness.db, publisher);
      const { streamId } = await oneStreamOf(1);
      await untilFeedHorizonPasses(harness.db);
      nats.freeze();

      const deadline = Date.now() + 500;
      const stalled = await publisher.run({ deadline });

      // The stream's check, a round and a question at most, however many requests they make; less here.
      expect(Date.now() - deadline).toBeLessThan(3 * PUBLISH_TIMEOUT_MS + 1_500);
      expect(stalled.published).toBe(0);
      nats.thaw();
      await publishEverything(harness.db, publisher);
      const nc = await connectNats({ servers: nats.url });
      try {
        const stored = (await readStoredMessages(nc, harness.streamName)).filter((message) => message.header.get('Stream-Id') === streamId);
        expect(stored).toHaveLength(1);
      } finally {
        await nc.close();
      }

      // Closing needs the server too, to drain: stalled again, it gives up after a publish timeout and closes.
      nats.freeze();
      const closing = Date.now();
      await publisher.close();
      expect(Date.now() - closing).toBeLessThan(PUBLISH_TIMEOUT_MS + 2_000);
    } finally {
      nats.thaw();
      await publisher.close();
      await nats.close();
    }
  }, 30_000);
});

describe('a JetStream API that answers each request just within the publish timeout', () => {
  it('given a round left unanswered at the deadline, when the question whether a stream captures the subject follows, then it is answered on the connection as it is (the stream is checked again by the next publish): the message is parked, and the run ends within three publish timeouts of its deadline', async () => {
    const PUBLISH_TIMEOUT_MS = 3_000;
    // The stream is there already, made by a publisher of its own: checking it takes two requests.
    await oneStreamOf(1);
    await publishEverything(harness.db, harness.publisher({ partitions: 1 }));
    const silentSubject = `${harness.subjectPrefix}silent.slowapi`;
    await silentSubscriber(harness, silentSubject);
    const { streamId } = await oneStreamOf(1);
    await untilFeedHorizonPasses(harness.db);
    const routing = eventRouting({ prefix: harness.subjectPrefix, subjectFor: (event) => (event.streamId === streamId ? silentSubject : undefined) });
    // The stream check's two requests, and the question's one, each just within a publish timeout.
    const delayMs = (subject: string) => (subject.startsWith('$JS.API.STREAM.NAMES') ? PUBLISH_TIMEOUT_MS - 100 : PUBLISH_TIMEOUT_MS / 2 - 100);
    const publisher = harness.publisher({ routing, partitions: 1, publishTimeoutMs: PUBLISH_TIMEOUT_MS, connect: async () => slowJetStreamApi(await connectNats(), delayMs) });
    try {
      const deadline = Date.now() + 300;
      const report = await publisher.run({ deadline });

      // The stream's check, the unanswered round, and the question: 11.4 s if the stream were checked again before the question.
      expect(Date.now() - deadline).toBeLessThan(3 * PUBLISH_TIMEOUT_MS + 1_000);
      // Checked again within the question's bound, the lookup would never fit, and the message would be retried for ever.
      expect(report.parked).toBe(1);
    } finally {
      await publisher.close();
    }
  }, 30_000);
});

/**
 * A publisher whose NATS connection goes through a proxy to the machine's
 * server, and has its first event published (so its connection is open and
 * kept): the proxy, the publisher, and a stream of `count` events still waiting.
 */
async function publisherThroughProxy(count: number, overrides: Partial<PublisherOptions> = {}) {
  const proxy = await startTcpProxy(Number(new URL(NATS_URL).port || 4222));
  onTestFinished(() => proxy.close());
  const publisher = harness.publisher({
    connect: () => connectNats({ servers: `127.0.0.1:${proxy.port}`, reconnectTimeWait: 50, maxReconnectAttempts: -1 }),
    publishTimeoutMs: 500,
    retryBackoff: { baseMs: 50, maxMs: 200 },
    partitions: 1,
    ...overrides,
  });
  await oneStreamOf(1);
  await publishEverything(harness.db, publisher);
  const waiting = await oneStreamOf(count);
  await untilFeedHorizonPasses(harness.db);
  return { proxy, publisher, streamId: waiting.streamId };
}

describe('a kept connection whose socket went silent between runs', () => {
  it('given the socket dead without a word (a Lambda frozen and thawed), when a run finds the stream check unanswered, then it has the client reconnect, and publishes long before its deadline', async () => {
    const { proxy, publisher, streamId } = await publisherThroughProxy(2);
    proxy.silence();

    const started = Date.now();
    const report = await publisher.run({ deadline: started + 20_000 });

    expect(report).toMatchObject({ published: 2, caughtUp: true });
    expect(Date.now() - started).toBeLessThan(10_000);
    const stored = await messagesOf(harness, [streamId]);
    expect(stored.map((message) => Number(message.header.get('Stream-Version')))).toEqual([1, 2]);
  }, 40_000);

  it('given the socket dying without a word between two batches of a run, when a round goes wholly unanswered, then the stream is checked again, the client reconnects, and the run publishes the rest', async () => {
    let dying = '';
    let silenced = false;
    const { proxy, publisher, streamId } = await publisherThroughProxy(3, {
      batchSize: 1,
      // The socket dies as the run routes the stream's first deposit, its opening published.
      routing: eventRouting({
        prefix: harness.subjectPrefix,
        subjectFor: (event) => {
          if (event.streamId === dying && event.type === 'MoneyDeposited' && !silenced) {
            silenced = true;
            proxy.silence();
          }
          return undefined;
        },
      }),
    });
    dying = streamId;

    const started = Date.now();
    const report = await publisher.run({ deadline: started + 20_000 });

    expect(report).toMatchObject({ published: 3, caughtUp: true });
    expect(Date.now() - started).toBeLessThan(10_000);
    const stored = await messagesOf(harness, [streamId]);
    expect(stored.map((message) => Number(message.header.get('Stream-Version')))).toEqual([1, 2, 3]);
  }, 40_000);
});

describe('a run that ends while NATS is away', () => {
  it('closes its connection, so that nothing it left unsent goes out when NATS is back (after a Lambda thaw, past the duplicate window); the next run connects anew', async () => {
    const { proxy, publisher, streamId } = await publisherThroughProxy(1, { publishTimeoutMs: 300 });
    await proxy.cut();

    const away = await publisher.run({ deadline: Date.now() + 1_000 });
    expect(away.published).toBe(0);
    await proxy.restore();
    const before = proxy.accepted();
    // The client, left open, would have reconnected within its 50 ms wait.
    await sleep(1_500);
    expect(proxy.accepted()).toBe(before);

    expect((await publishEverything(harness.db, publisher)).published).toBe(1);
    const stored = await messagesOf(harness, [streamId]);
    expect(stored).toHaveLength(1);
  }, 30_000);
});

/** Servers on these loopback addresses that take a connection and never say a word: NATS dials that never open. */
async function silentServers(hosts: readonly string[]): Promise<string[]> {
  const urls: string[] = [];
  for (const host of hosts) {
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));
    urls.push(`nats://${host}:${String((server.address() as net.AddressInfo).port)}`);
  }
  return urls;
}

describe('opening and closing the connection with NATS not answering', () => {
  it('given servers that take a connection and never answer, when a run connects within a bound, then it ends within that bound of its deadline, not one dial timeout per server', async () => {
    const servers = await silentServers(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const publisher = harness.publisher({
      connect: connectWithin(() => connectNats({ servers, timeout: 1_000, noRandomize: true }), 1_000),
      publishTimeoutMs: 500,
      partitions: 1,
    });
    await oneStreamOf(1);
    await untilFeedHorizonPasses(harness.db);

    // A run dials only once its batch starts: on a loaded runner a short run may end before that, so runs repeat until one dials.
    const giveUpAt = Date.now() + 20_000;
    for (;;) {
      const deadline = Date.now() + 300;
      const report = await publisher.run({ deadline });
      // Three dials of 1 s each, unbounded; a batch begun just before the deadline may still open one.
      expect(Date.now() - deadline).toBeLessThan(2_000);
      expect(report).toMatchObject({ published: 0 });
      if (report.retried > 0 || Date.now() > giveUpAt) {
        expect(report.retried).toBe(1);
        break;
      }
    }
  });

  it('given a connection that opens after the bound, when it comes, then it is closed: nothing is left connected', async () => {
    const [silent = ''] = await silentServers(['127.0.0.2']);
    const opened: NatsConnection[] = [];
    const connect = connectWithin(async () => {
      // The silent server's dial times out first; the machine's NATS then answers.
      const nc = await connectNats({ servers: [silent, NATS_URL], timeout: 600, noRandomize: true });
      opened.push(nc);
      return nc;
    }, 200);

    await expect(connect()).rejects.toThrow(/timeout/i);

    await expect.poll(() => opened.length, { timeout: 5_000 }).toBe(1);
    await expect.poll(() => opened[0]?.isClosed(), { timeout: 5_000 }).toBe(true);
  });
});
