import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../core/db';
import { eventRouting, listParkedMessages, readPublishingStatus } from '../../core/publishing';
import { deferred, deposited, opened, sleep, uniqueStreamId, withdrawn, type AccountEvent } from '../support/fixtures';
import { connectNats, NATS_URL } from '../support/natsTesting';
import { startTcpProxy } from '../support/tcpProxy';
import {
  dyingBeforeCheckpoint,
  expectDeliveredOnceInOrder,
  messagesOf,
  nothingWaits,
  publishEverything,
  runUntil,
  runUntilItDies,
  startPublishingHarness,
  type PublishingHarness,
} from './publishingHarness';

let harness: PublishingHarness;

beforeAll(async () => {
  harness = await startPublishingHarness();
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
    const request = { streamId, streamType: 'account', expectedVersion: version - 1, events: [version === 1 ? opened() : deposited(version)] };
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

/** A Db that runs `hook` once, just before the publisher's `n`-th read of a page of events. */
function beforeEventPage(db: Db, n: number, hook: () => Promise<void>): Db {
  let reads = 0;
  return {
    query: async (text, params, options) => {
      if (options?.name === 'publisher_event_page' && ++reads === n) await hook();
      return db.query(text, params, options);
    },
    transaction: (work) => db.transaction(work),
    close: () => db.close(),
  };
}

describe('publishing stored events from the feed', () => {
  it('publishes each event on its subject, with its event id as message id, its headers and its envelope', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened(), deposited(2)],
      metadata: { correlationId: 'corr-1', causationId: 'cause-1', commandId: 'cmd-1' },
    });
    expect(await publishEverything(harness.db, harness.publisher())).toMatchObject({ published: 2, duplicates: 0 });

    const messages = await messagesOf(harness, [streamId]);
    const { rows } = await harness.db.query<{ event_id: string; global_position: string }>(
      'SELECT event_id, global_position FROM events WHERE stream_id = $1 ORDER BY version',
      [streamId],
    );
    expect(messages.map((message) => message.header.get('Nats-Msg-Id'))).toEqual(rows.map((row) => row.event_id));
    expect(messages[1]?.subject).toBe(`${harness.subjectPrefix}.account.MoneyDeposited`);
    expect(Object.fromEntries(['Event-Id', 'Event-Type', 'Event-Schema-Version', 'Stream-Id', 'Stream-Type', 'Stream-Version', 'Correlation-Id', 'Causation-Id', 'Command-Id'].map((name) => [name, messages[1]?.header.get(name)]))).toEqual({
      'Event-Id': rows[1]?.event_id,
      'Event-Type': 'MoneyDeposited',
      'Event-Schema-Version': '1',
      'Stream-Id': streamId,
      'Stream-Type': 'account',
      'Stream-Version': '2',
      'Correlation-Id': 'corr-1',
      'Causation-Id': 'cause-1',
      'Command-Id': 'cmd-1',
    });
    const body = messages[1]?.json<Record<string, unknown>>();
    expect(Object.keys(body ?? {})).toEqual(['eventId', 'type', 'schemaVersion', 'streamId', 'streamType', 'version', 'globalPosition', 'recordedAt', 'data', 'metadata']);
    expect(body).toMatchObject({ eventId: rows[1]?.event_id, streamId, version: 2, type: 'MoneyDeposited', globalPosition: rows[1]?.global_position, data: { amount: 2 } });
    expect(await readPublishingStatus(harness.db)).toMatchObject({ events: { backlog: 0, oldestAgeSeconds: 0 }, outbox: { backlog: 0 }, parked: 0 });
  });

  it('sends the envelope byte for byte as json_build_object writes it, with text that needs escaping', async () => {
    const streamId = `${uniqueStreamId()}-"quoted"\\back\tslash-é-😀`;
    await harness.store.appendToStream<AccountEvent>({
      streamId,
      streamType: 'account',
      expectedVersion: 'no_stream',
      events: [opened('Zoë "Z" \\ O\'Neil\n'), deposited(7)],
      metadata: { correlationId: 'corr-"1"', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    await publishEverything(harness.db, harness.publisher());

    const { rows } = await harness.db.query<{ envelope: string }>(
      `SELECT json_build_object(
         'eventId', event_id, 'type', type, 'schemaVersion', schema_version, 'streamId', stream_id,
         'streamType', stream_type, 'version', version, 'globalPosition', global_position::text,
         'recordedAt', recorded_at, 'data', data, 'metadata', metadata)::text AS envelope
       FROM events WHERE stream_id = $1 ORDER BY version`,
      [streamId],
    );
    const bodies = (await messagesOf(harness, [streamId])).map((message) => new TextDecoder().decode(message.data));
    expect(bodies).toEqual(rows.map((row) => row.envelope));
    expect(JSON.parse(bodies[0] ?? '')).toMatchObject({ streamId, data: { owner: 'Zoë "Z" \\ O\'Neil\n' } });
  });

  it('parks an event whose routing gives a subject with a NUL or a lone surrogate (from its data), which NATS\'s rules exclude or the client rewrites, and goes on past it', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), withdrawn(1), deposited(3)] });
    // A lone surrogate, likewise: the client would send U+FFFD in its place, on another subject.
    const oddOf = { MoneyWithdrawn: `${harness.subjectPrefix}.odd\u0000name`, MoneyDeposited: `${harness.subjectPrefix}.odd\uD800name` } as Record<string, string>;
    const routing = eventRouting({ prefix: harness.subjectPrefix, subjectFor: (event) => oddOf[event.type] });

    const report = await publishEverything(harness.db, harness.publisher({ routing }));

    expect(report).toMatchObject({ parked: 2 });
    expect((await messagesOf(harness, [streamId])).map((message) => message.header.get('Event-Type'))).toEqual(['AccountOpened']);
    const parked = (await listParkedMessages(harness.db)).filter((message) => message.orderingKey === streamId);
    expect(parked.map((message) => message.subject).sort()).toEqual([`${harness.subjectPrefix}.odd\uFFFDname`, `${harness.subjectPrefix}.odd\uFFFDname`]);
    expect(parked.map((message) => message.error)).toEqual([
      expect.stringMatching(/^routing gave an unusable subject: .*without whitespace, NUL, a lone surrogate/),
      expect.stringMatching(/^routing gave an unusable subject: .*without whitespace, NUL, a lone surrogate/),
    ]);
    await harness.db.query('DELETE FROM parked_messages WHERE ordering_key = $1', [streamId]);
  });

  it('keeps a private event out of NATS and goes on past it', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), withdrawn(1), deposited(3)] });
    const routing = eventRouting({ prefix: harness.subjectPrefix, subjectFor: (event) => (event.type === 'MoneyWithdrawn' ? null : undefined) });
    await publishEverything(harness.db, harness.publisher({ routing }));
    expect((await messagesOf(harness, [streamId])).map((message) => message.header.get('Event-Type'))).toEqual(['AccountOpened', 'MoneyDeposited']);
  });

  it('with a page size it accepts whose walk over its partitions is past PostgreSQL\'s integers, publishes rather than failing every run', async () => {
    const streamId = uniqueStreamId();
    await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened(), deposited(2)] });
    // 4 partitions of 10^9: a walk of 4 * 10^9 events.
    await publishEverything(harness.db, harness.publisher({ batchSize: 1_000_000_000, partitions: 4 }));
    expect((await messagesOf(harness, [streamId])).map((message) => message.header.get('Event-Type'))).toEqual(['AccountOpened', 'MoneyDeposited']);
  });

  it('with three publishers running at once while writers append and commit late, delivers every event once and in stream order', async () => {
    const publishers = [harness.publisher(), harness.publisher(), harness.publisher()];
    let writing = true;
    const publishing = publishers.map(async (publisher) => {
      while (writing || !(await nothingWaits(harness.db))) {
        await publisher.run({ deadline: Date.now() + 2_000 });
        await sleep(5);
      }
    });
    const streamIds = await appendEvents(40, 25, { delayedCommits: true });
    writing = false;
    await Promise.all(publishing);
    await expectDeliveredOnceInOrder(harness, streamIds, 25);
  });

  it('publishes an event whose transaction commits late before the next event of its stream', async () => {
    const late = uniqueStreamId();
    const others = [uniqueStreamId(), uniqueStreamId(), uniqueStreamId()];
    const written = deferred();
    const commit = deferred();
    // Version 1 of `late` takes its transaction id first, then waits to commit.
    const lateAppend = harness.db.transaction(async (tx) => {
      await harness.store.appendToStream<AccountEvent>({ streamId: late, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] }, tx);
      written.resolve();
      await commit.promise;
    });
    let appendedBehind: Promise<unknown> | undefined;
    const commitAndAppendBehind = () => {
      commit.resolve();
      appendedBehind ??= lateAppend.then(() =>
        harness.store.appendToStream<AccountEvent>({ streamId: late, streamType: 'account', expectedVersion: 1, events: [deposited(2)] }),
      );
      return appendedBehind;
    };
    try {
      await written.promise;
      for (const streamId of others) {
        await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()] });
      }
      // Mid-drain (if the publisher is still reading), version 1 commits and version 2 is appended behind it.
      const db = beforeEventPage(harness.db, 2, async () => {
        await commitAndAppendBehind();
      });
      await harness.publisher({ db, batchSize: 1 }).run();
    } finally {
      // Also when the run failed: a transaction left open would hold back every test file's feed.
      await commitAndAppendBehind();
    }
    await publishEverything(harness.db, harness.publisher());
    expect((await messagesOf(harness, [late])).map((message) => Number(message.header.get('Stream-Version')))).toEqual([1, 2]);
    await expectDeliveredOnceInOrder(harness, others, 1);
  });

  it('when a publisher dies after the acknowledgements and before its checkpoint, consumers see no duplicate', async () => {
    // The backlog and a run's counts are the database's: whatever an earlier spec left unpublished goes first.
    await publishEverything(harness.db, harness.publisher());
    const streamIds = await appendEvents(5, 4);
    const dying = harness.publisher({ db: dyingBeforeCheckpoint(harness.db), leaseTtlMs: 1_000 });
    expect(await runUntilItDies(dying)).toMatchObject({ message: expect.stringContaining('killed before storing its checkpoint') as string });
    const storedByTheDead = (await messagesOf(harness, streamIds)).length;
    expect(storedByTheDead).toBeGreaterThan(0);
    expect((await readPublishingStatus(harness.db)).events.backlog).toBe(20);

    // The dead publisher's leases expire; a fresh one publishes again what it had sent.
    await sleep(1_200);
    const again = await publishEverything(harness.db, harness.publisher());
    expect(again).toMatchObject({ published: 20, duplicates: storedByTheDead });
    // The run that took the partitions over says whose batch it counted, for the function to log as an error.
    expect(again.failures).toBeGreaterThan(0);
    expect(again.lastError).toMatch(/LeaseRanOutError/);
    await expectDeliveredOnceInOrder(harness, streamIds, 4);
  });

  it('loses nothing when NATS goes away mid-run and comes back, and says so while it waits', async () => {
    const proxy = await startTcpProxy(Number(new URL(NATS_URL).port || 4222));
    const retries: number[] = [];
    const publisher = harness.publisher({
      connect: () => connectNats({ servers: `127.0.0.1:${proxy.port}`, reconnectTimeWait: 50, maxReconnectAttempts: -1 }),
      publishTimeoutMs: 300,
      retryBackoff: { baseMs: 20, maxMs: 200 },
      batchSize: 50,
      onRetry: ({ retryInMs }) => retries.push(retryInMs),
    });
    try {
      const first = await appendEvents(10, 3);
      expect((await publishEverything(harness.db, publisher)).published).toBe(30);

      await proxy.cut();
      const during = await appendEvents(20, 10);
      // Until it has tried every partition that waits; on a loaded runner one run may not get to them all.
      const waiting = async () => (await readPublishingStatus(harness.db)).events.partitions.filter((partition) => partition.lagItems > 0);
      const outage = await runUntil(publisher, async (totals) => totals.lastError !== null && (await waiting()).every((partition) => partition.attempts > 0), 1_000);
      expect(outage).toMatchObject({ published: 0, caughtUp: false });
      expect(retries.length).toBeGreaterThan(0);
      expect((await readPublishingStatus(harness.db)).events.backlog).toBe(200);
      // Each partition it could not publish says why, and how many tries in a row: its publishes went
      // unanswered, or, on a loaded runner where a later run found the client gone, NATS refused the connection.
      expect((await waiting()).every((partition) => /Timeout|ECONNREFUSED/.test(partition.lastError ?? ''))).toBe(true);

      // Restored while a run is under way: it backs off, reconnects and finishes.
      const resumed = publisher.run({ deadline: Date.now() + 20_000 });
      await sleep(300);
      await proxy.restore();
      expect(await resumed).toMatchObject({ caughtUp: true });
      await publishEverything(harness.db, publisher);
      expect((await readPublishingStatus(harness.db)).events.partitions.map((partition) => [partition.attempts, partition.lastError])).toEqual(
        Array.from({ length: 4 }, () => [0, null]),
      );
      await expectDeliveredOnceInOrder(harness, first, 3);
      await expectDeliveredOnceInOrder(harness, during, 10);
    } finally {
      await publisher.close();
      await proxy.close();
    }
  });
});
