import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/** A connect that records every connection it opens, and waits at a gate the spec opens. */
function gatedConnect() {
  const connections: NatsConnection[] = [];
  const called = deferred();
  const gate = deferred();
  const connect = async () => {
    called.resolve();
    await gate.promise;
    const nc = await connectNats();
    connections.push(nc);
    return nc;
  };
  return { connect, connections, called, gate };
}

describe('a publisher closed while its run is under way', () => {
  it('leaves no NATS connection open: neither the one its run was opening nor one its run would open after', async () => {
    await harness.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    const nats = gatedConnect();
    const publisher = harness.publisher({ connect: nats.connect });
    const run = publisher.run({ deadline: Date.now() + 2_000 });
    await nats.called.promise;

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
    await harness.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    await publisher.run({ deadline: Date.now() + 5_000 });
    const openedBefore = nats.connections.length;
    expect(openedBefore).toBeGreaterThan(0);
    await publisher.close();
    await harness.store.appendToStream({ streamId: uniqueStreamId(), streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });

    await Promise.allSettled([publisher.run({ deadline: Date.now() + 1_000 })]);

    expect(nats.connections).toHaveLength(openedBefore);
    expect(nats.connections.every((nc) => nc.isClosed())).toBe(true);
  });
});
