// The publisher against a NATS server of its own, which the specs stop and start again.
import { jetstream, jetstreamManager, DiscardPolicy, StorageType } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { connectNats, readStoredMessages } from '../support/natsTesting';
import { startPrivateNatsServer, type PrivateNatsServer } from '../support/privateNatsServer';
import { startPublishingHarness, type PublishingHarness } from './publishingHarness';

let harness: PublishingHarness;
let nats: PrivateNatsServer;

beforeAll(async () => {
  harness = await startPublishingHarness();
  nats = await startPrivateNatsServer();
});

afterAll(async () => {
  await nats.close();
  await harness.close();
});

describe('the stream, lost with a NATS restart in the middle of a run, after a publish NATS did not answer', () => {
  it('is made again at the first "no responders" after NATS is back, and the event goes out in the same run', async () => {
    const admin = await connectNats({ servers: nats.url });
    const jsm = await jetstreamManager(admin);
    // Made beforehand in memory, full (discard new): the event is refused for a while (10077, retried), keeping the run's partition busy.
    await jsm.streams.add({
      name: harness.streamName,
      subjects: [`${harness.subjectPrefix}.>`],
      storage: StorageType.Memory,
      max_msgs: 1,
      discard: DiscardPolicy.New,
      duplicate_window: nanos(10 * 60_000),
    });
    await jetstream(admin).publish(`${harness.subjectPrefix}.filler`, 'x');
    await admin.close();

    const streamId = uniqueStreamId();
    await harness.store.appendToStream({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(harness.db);
    const publisher = harness.publisher({
      connect: () => connectNats({ servers: nats.url }),
      partitions: 1,
      publishTimeoutMs: 300,
      retryBackoff: { baseMs: 50, maxMs: 200 },
    });

    const running = publisher.run({ deadline: Date.now() + 14_000 });
    await sleep(1_000);
    // NATS goes away for a moment: the partition's publish times out and JetStream cannot be asked.
    await nats.kill();
    await sleep(1_500);
    // Back, without the memory stream.
    await nats.start();
    const report = await running;

    const check = await connectNats({ servers: nats.url });
    const stored = await readStoredMessages(check, harness.streamName);
    await check.close();
    expect({ published: report.published, caughtUp: report.caughtUp }).toEqual({ published: 1, caughtUp: true });
    expect(stored.map((message) => message.header.get('Stream-Id'))).toEqual([streamId]);
  }, 30_000);
});

describe('a publisher closed while NATS is away', () => {
  it('closes its connection, which does not come back with NATS', async () => {
    const opened_: NatsConnection[] = [];
    const publisher = harness.publisher({
      partitions: 1,
      connect: async () => {
        const nc = await connectNats({ servers: nats.url });
        opened_.push(nc);
        return nc;
      },
    });
    await harness.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await untilFeedHorizonPasses(harness.db);
    const report = await publisher.run({ deadline: Date.now() + 3_000 });
    expect(report.published).toBeGreaterThan(0);
    await nats.kill();
    const outcome = await publisher.close().then(
      () => 'closed',
      (error: unknown) => `rejected: ${String(error)}`,
    );
    // NATS comes back, with time for a connection close() let go of to reconnect.
    await nats.start();
    await sleep(4_000);
    const states = opened_.map((nc) => nc.isClosed());
    for (const nc of opened_) if (!nc.isClosed()) await nc.close();
    expect(outcome).toBe('closed');
    expect(states).toEqual(opened_.map(() => true));
  }, 30_000);
});
