import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { opened, sleep, uniqueStreamId } from '../support/fixtures';
import { connectNats } from '../support/natsTesting';
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
