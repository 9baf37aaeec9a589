import type { StoredMsg } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutboxStatus } from '../../core/outbox';
import { deposited, opened, sleep, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { readStoredMessages } from '../support/natsTesting';
import {
  beforePendingRead,
  dyingBeforeMark,
  publishEverything,
  runUntilItDies,
  startOutboxHarness,
  type OutboxHarness,
} from './outboxHarness';
import { deferred } from '../support/fixtures';

let harness: OutboxHarness;

beforeAll(async () => {
  harness = await startOutboxHarness();
});

afterAll(async () => {
  await harness.close();
});

/**
 * Appends `perStream` events to each of `streams` new streams, one append at a time
 * per stream. With `delayedCommits`, each append's transaction stays open a few
 * milliseconds after it wrote, so commits land out of the order ids were taken.
 */
async function appendEvents(streams: number, perStream: number, options: { delayedCommits?: boolean } = {}): Promise<string[]> {
  const streamIds = Array.from({ length: streams }, () => uniqueStreamId());
  const append = async (streamId: string, version: number) => {
    const request = {
      streamId,
      streamType: 'account',
      expectedVersion: version - 1,
      events: [version === 1 ? opened() : deposited(version)],
    };
    if (!options.delayedCommits) {
      await harness.store.appendToStream<AccountEvent>(request);
      return;
    }
    await harness.db.transaction(async (tx) => {
      await harness.store.appendToStream<AccountEvent>(request, tx);
      await sleep(Math.random() * 15);
    });
  };
  await Promise.all(
    streamIds.map(async (streamId) => {
      for (let version = 1; version <= perStream; version++) await append(streamId, version);
    }),
  );
  return streamIds;
}

const header = (message: StoredMsg, name: string) => message.header.get(name);

async function messagesOf(streamIds: readonly string[]): Promise<StoredMsg[]> {
  const wanted = new Set(streamIds);
  return (await readStoredMessages(harness.nc, harness.streamName)).filter((message) =>
    wanted.has(header(message, 'Stream-Id')),
  );
}

/** Asserts the stream holds each appended event of these streams exactly once, in version order per stream. */
async function expectDeliveredOnceInOrder(streamIds: readonly string[], perStream: number): Promise<void> {
  const messages = await messagesOf(streamIds);
  const versions = new Map<string, number[]>();
  for (const message of messages) {
    const streamId = header(message, 'Stream-Id');
    versions.set(streamId, [...(versions.get(streamId) ?? []), Number(header(message, 'Stream-Version'))]);
  }
  const expected = Array.from({ length: perStream }, (_, index) => index + 1);
  for (const streamId of streamIds) expect(versions.get(streamId), streamId).toEqual(expected);
  expect(messages).toHaveLength(streamIds.length * perStream);
}

describe('the outbox publisher', () => {
  it('publishes each pending message with its event id as message id, its headers and its envelope', async () => {
    const [streamId = ''] = await appendEvents(1, 2);
    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 2, duplicates: 0 });
    const messages = (await readStoredMessages(harness.nc, harness.streamName)).filter(
      (message) => header(message, 'Stream-Id') === streamId,
    );
    const { rows } = await harness.db.query<{ event_id: string }>(
      'SELECT event_id FROM events WHERE stream_id = $1 ORDER BY version',
      [streamId],
    );
    expect(messages.map((message) => header(message, 'Nats-Msg-Id'))).toEqual(rows.map((row) => row.event_id));
    expect(messages[1]?.subject).toMatch(/\.account\.MoneyDeposited$/);
    expect(messages[1]?.json()).toMatchObject({ streamId, version: 2, type: 'MoneyDeposited', data: { amount: 2 } });
    expect(await readOutboxStatus(harness.db)).toEqual({ backlog: 0, oldestPendingAgeSeconds: 0, parked: 0 });
  });

  it('with three publishers running at once while writers append and commit late, delivers every event once and in stream order', async () => {
    const publishers = [harness.publisher(), harness.publisher(), harness.publisher()];
    let writing = true;
    const publishing = publishers.map(async (publisher) => {
      while (writing || (await readOutboxStatus(harness.db)).backlog > 0) {
        await publisher.run({ deadline: Date.now() + 2_000 });
        await sleep(5);
      }
    });
    const streamIds = await appendEvents(40, 25, { delayedCommits: true });
    writing = false;
    await Promise.all(publishing);
    await expectDeliveredOnceInOrder(streamIds, 25);
  });

  it('publishes a message whose transaction commits late before the next message of its stream', async () => {
    const late = uniqueStreamId();
    const others = [uniqueStreamId(), uniqueStreamId(), uniqueStreamId()];
    const commit = deferred();
    // Version 1 of `late` takes its outbox id first, then waits to commit.
    const lateAppend = harness.db.transaction(async (tx) => {
      await harness.store.appendToStream<AccountEvent>({ streamId: late, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx);
      await commit.promise;
    });
    await sleep(50);
    for (const streamId of others) {
      await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
    }
    let appendedBehind: Promise<unknown> | undefined;
    const commitAndAppendBehind = () => {
      commit.resolve();
      appendedBehind ??= lateAppend.then(() =>
        harness.store.appendToStream<AccountEvent>({ streamId: late, streamType: 'account', expectedVersion: 1, events: [deposited(2)] }),
      );
      return appendedBehind;
    };
    // Mid-drain (if the publisher is still reading), version 1 commits and version 2 is appended behind it.
    const db = beforePendingRead(harness.db, 2, async () => {
      await commitAndAppendBehind();
    });
    await harness.publisher({ db, batchSize: 1, partitions: 1 }).run();
    await commitAndAppendBehind();
    await publishEverything(harness.db, harness.publisher({ partitions: 1 }));
    const versions = (await messagesOf([late])).map((message) => Number(header(message, 'Stream-Version')));
    expect(versions).toEqual([1, 2]);
    await expectDeliveredOnceInOrder(others, 1);
  });

  it('when a publisher dies between publishing and marking, the retry is a duplicate the server drops', async () => {
    const streamIds = await appendEvents(5, 4);
    const dying = harness.publisher({ db: dyingBeforeMark(harness.db), leaseTtlMs: 500 });
    expect(await runUntilItDies(dying)).toMatchObject({ message: expect.stringContaining('killed before marking') as string });
    expect((await readOutboxStatus(harness.db)).backlog).toBe(20);
    const storedByTheDead = (await messagesOf(streamIds)).length;
    expect(storedByTheDead).toBeGreaterThan(0);

    // The dead publisher's leases expire; a fresh one publishes everything again.
    await sleep(600);
    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 20, duplicates: storedByTheDead });
    await expectDeliveredOnceInOrder(streamIds, 4);
  });

  it('loses nothing when NATS goes away mid-run and comes back', async () => {
    const { startTcpProxy } = await import('../support/tcpProxy');
    const proxy = await startTcpProxy(4222);
    const { connectNats } = await import('../support/natsTesting');
    const publisher = harness.publisher({
      connect: () => connectNats({ servers: `127.0.0.1:${proxy.port}`, reconnectTimeWait: 50, maxReconnectAttempts: -1 }),
      publishTimeoutMs: 300,
      unreachableBackoff: { baseMs: 20, maxMs: 200 },
      batchSize: 50,
    });
    try {
      const first = await appendEvents(10, 3);
      expect((await publishEverything(harness.db, publisher)).published).toBe(30);

      await proxy.cut();
      const during = await appendEvents(20, 10);
      const outage = await publisher.run({ deadline: Date.now() + 1_000 });
      expect(outage).toMatchObject({ published: 0, caughtUp: false });
      expect(outage.lastError).not.toBeNull();
      expect((await readOutboxStatus(harness.db)).backlog).toBe(200);

      // Restored while a run is under way: it backs off, reconnects and finishes.
      const resumed = publisher.run({ deadline: Date.now() + 20_000 });
      await sleep(300);
      await proxy.restore();
      expect(await resumed).toMatchObject({ caughtUp: true });
      await publishEverything(harness.db, publisher);
      await expectDeliveredOnceInOrder(first, 3);
      await expectDeliveredOnceInOrder(during, 10);
    } finally {
      await publisher.close();
      await proxy.close();
    }
  });
});
