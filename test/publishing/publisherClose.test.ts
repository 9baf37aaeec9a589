import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { deferred, opened, uniqueStreamId } from '../support/fixtures';
import { connectNats } from '../support/natsTesting';
import { startPublishingHarness, type PublishingHarness } from './publishingHarness';

let harness: PublishingHarness;

beforeAll(async () => {
  harness = await startPublishingHarness();
});

afterAll(async () => {
  await harness.close();
});

/** An event the publisher's next run reads: committed, and below the feed's horizon. */
async function givenAnEventToPublish(): Promise<void> {
  await harness.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
  await untilFeedHorizonPasses(harness.db);
}

/** A connect that records every connection it opens, and waits at a gate the spec opens. */
function gatedConnect() {
  const connections: NatsConnection[] = [];
  const called = deferred();
  const gate = deferred();
  const calls = { count: 0 };
  const connect = async () => {
    calls.count += 1;
    called.resolve();
    await gate.promise;
    const nc = await connectNats();
    connections.push(nc);
    return nc;
  };
  return { connect, connections, called, gate, calls };
}

describe('a publisher closed while its run is under way', () => {
  it('leaves no NATS connection open: neither the one its run was opening nor one its run would open after', async () => {
    await givenAnEventToPublish();
    const nats = gatedConnect();
    const publisher = harness.publisher({ connect: nats.connect });
    const run = publisher.run({ deadline: Date.now() + 5_000 });
    await Promise.race([nats.called.promise, run.catch(() => undefined)]);
    expect(nats.calls.count).toBeGreaterThan(0);

    const closing = publisher.close();
    nats.gate.resolve();
    await closing;
    await Promise.allSettled([run]);

    expect(nats.connections.length).toBeGreaterThan(0);
    expect(nats.connections.map((nc) => nc.isClosed())).toEqual(nats.connections.map(() => true));
  });

  it('opens no connection once closed, whatever its run goes on to publish', async () => {
    const nats = gatedConnect();
    nats.gate.resolve();
    const publisher = harness.publisher({ connect: nats.connect });
    await givenAnEventToPublish();
    await publisher.run({ deadline: Date.now() + 5_000 });
    const openedBefore = nats.connections.length;
    expect(openedBefore).toBeGreaterThan(0);
    await publisher.close();
    await givenAnEventToPublish();

    await Promise.allSettled([publisher.run({ deadline: Date.now() + 3_000 })]);

    expect(nats.connections).toHaveLength(openedBefore);
    expect(nats.connections.every((nc) => nc.isClosed())).toBe(true);
  });
});
