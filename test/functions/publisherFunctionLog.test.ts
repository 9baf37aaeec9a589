import { jetstream, jetstreamManager, DiscardPolicy } from '@nats-io/jetstream';
import pg from 'pg';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../core/db';
import { acquirePartitionLease } from '../../core/processing';
import { parkMessages, readPublishingStatus } from '../../core/publishing';
import { getRuntime } from '../../functions/runtime';
import { handler as publish } from '../../functions/publisher';
import { lambdaContext } from '../support/apiGatewayEvent';
import { usePublisherFunctionApp } from '../support/publisherFunctionApp';
import { expireLeases } from '../support/expireLeases';
import { postCommandRequest } from '../support/commandHttp';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { connectNats, deleteJetStream, readStoredMessages } from '../support/natsTesting';

const { jetStream, lines, nats, database } = usePublisherFunctionApp();

beforeAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  const jsm = await jetstreamManager(nc);
  // Full, with discard new: the first tries are refused for a while (10077, retried), until it is purged.
  await jsm.streams.add({ name: jetStream.name, subjects: [`${jetStream.prefix}.>`], max_msgs: 1, discard: DiscardPolicy.New, duplicate_window: nanos(600_000) });
  await jetstream(nc).publish(`${jetStream.prefix}.filler`, 'x');
  await nc.close();
});

afterAll(async () => {
  const nc = await connectNats({ servers: nats().url });
  await deleteJetStream(nc, jetStream.name);
  await nc.close();
});

/**
 * Puts an events publisher's partition (the one of a stream id, or one by its
 * number) in a backoff after two publishers died holding it, `wait` long by the
 * database's clock.
 */
async function holdBack(db: Db, of: { streamId: string } | { partition: number }, wait: string): Promise<void> {
  await db.query(
    `UPDATE processor_partitions p SET attempts = 2, last_error = 'LeaseRanOutError: its process ended or stalled', next_attempt_at = now() + $3::interval
     FROM feed_processors f
     WHERE f.name = 'publisher:events' AND p.processor = f.name AND p.partition = coalesce($2::integer, stream_partition($1, f.partitions))`,
    ['streamId' in of ? of.streamId : null, 'partition' in of ? of.partition : null, wait],
  );
}

/** The level and message of each line logged so far whose message matches `pattern`. */
const loggedLines = (pattern: RegExp) => lines.filter((line) => pattern.test(line.message)).map((line) => [line.level, line.message]);

const eventsPartitions = async (db: Db) =>
  (await db.query<{ partitions: number }>("SELECT partitions FROM feed_processors WHERE name = 'publisher:events'")).rows[0]?.partitions ?? 0;

const releaseHeldBack = (db: Db) =>
  db.query("UPDATE processor_partitions SET attempts = 0, last_error = NULL, next_attempt_at = NULL WHERE processor = 'publisher:events'");

describe('the publisher function’s log line', () => {
  it('given a run that was refused for a while (a full stream, then purged) and then published everything, says published, not that messages wait', async () => {
    expect((await postCommandRequest('OpenAccount', { accountId: 'acc-log', owner: 'Ada', currency: 'EUR' })).statusCode).toBe(200);
    const { db } = await getRuntime();
    await untilFeedHorizonPasses(db);
    const purge = setTimeout(() => {
      void (async () => {
        const nc = await connectNats({ servers: nats().url });
        await (await jetstreamManager(nc)).streams.purge(jetStream.name);
        await nc.close();
      })();
    }, 1_000);
    lines.length = 0;
    await publish({}, lambdaContext());
    clearTimeout(purge);

    const status = await readPublishingStatus(db);
    const nc = await connectNats({ servers: nats().url });
    const stored = await readStoredMessages(nc, jetStream.name);
    await nc.close();
    const logged = lines.filter((line) => /NATS|went out|published|parked/.test(line.message));
    // Everything went out in this run: nothing waits, and the log says so.
    expect(status.events.backlog).toBe(0);
    expect(stored.map((message) => message.subject)).toEqual([`${jetStream.prefix}.account.AccountOpened`]);
    expect(logged.at(-1)).toMatchObject({ level: 'info', message: 'published', fields: { status: { backlog: 0, parked: 0, heldBack: [] } } });
  }, 30_000);

  it('given a partition waiting out the backoff after publishers died holding it, says it is held back, with the event waiting there, though its run retried nothing and met no error', async () => {
    const { db } = await getRuntime();
    // The partition the new account's events fall in.
    await holdBack(db, { streamId: 'account-acc-held' }, '1 minute');
    try {
      expect((await postCommandRequest('OpenAccount', { accountId: 'acc-held', owner: 'Bo', currency: 'EUR' })).statusCode).toBe(200);
      await untilFeedHorizonPasses(db);
      lines.length = 0;
      await publish({}, lambdaContext());

      const logged = lines.filter((line) => /NATS|went out|published|parked|held back/.test(line.message));
      expect(logged.at(-1)).toMatchObject({
        level: 'warn',
        message: 'publishing partitions are held back after publishers died holding them; they wait',
        fields: { report: { published: 0, retried: 0, lastError: null }, status: { backlog: 1, heldBack: expect.arrayContaining([expect.objectContaining({ source: 'events', attempts: 2 })]) as unknown } },
      });
    } finally {
      await releaseHeldBack(db);
    }
  }, 30_000);

  it('given a message parked and an event the full stream keeps refusing, says both: that messages are parked, and that messages wait', async () => {
    const { db } = await getRuntime();
    // The stream holds the first spec's message and takes no more: the account opened here waits.
    await parkMessages(db, 'outbox', [{ messageId: crypto.randomUUID(), orderingKey: 'notices', subject: `${jetStream.prefix}.notices`, error: 'too big' }]);
    expect((await postCommandRequest('OpenAccount', { accountId: 'acc-waits', owner: 'Cy', currency: 'EUR' })).statusCode).toBe(200);
    await untilFeedHorizonPasses(db);
    lines.length = 0;
    // The run's deadline is 3 s off: the function keeps 22 s of the 25 left.
    await publish({}, lambdaContext('publisher', 25_000));

    const logged = loggedLines(/NATS|went out|published|parked|held back/);
    expect(logged).toContainEqual(['error', 'messages refused by NATS for good are parked']);
    expect(logged).toContainEqual(['warn', 'not every message went out; they wait']);
  }, 30_000);

  it('given an event the full stream keeps refusing until the run\'s deadline, says not every message went out, and not that the publisher ran out of time', async () => {
    const { db } = await getRuntime();
    // The stream holds the first spec's message and takes no more.
    expect((await postCommandRequest('OpenAccount', { accountId: 'acc-outage', owner: 'Flo', currency: 'EUR' })).statusCode).toBe(200);
    await untilFeedHorizonPasses(db);
    lines.length = 0;
    await publish({}, lambdaContext('publisher', 25_000));

    const logged = loggedLines(/NATS|went out|published|time/);
    expect(logged).toContainEqual(['warn', 'not every message went out; they wait']);
    expect(logged).not.toContainEqual(['warn', 'the publisher ran out of time before it was done; the rest waits for the next run']);
  }, 30_000);

  it('given a partition held back and an event in another partition the full stream keeps refusing, says both: that partitions are held back, and that not every message went out', async () => {
    const { db } = await getRuntime();
    const partitionOf = async (accountId: string) =>
      (await db.query<{ partition: number }>("SELECT stream_partition($1, partitions) AS partition FROM feed_processors WHERE name = 'publisher:events'", [`account-${accountId}`])).rows[0]?.partition;
    const held = 'acc-held-too';
    let refused = 'acc-refused-0';
    for (let n = 1; (await partitionOf(refused)) === (await partitionOf(held)); n += 1) refused = `acc-refused-${n}`;
    await holdBack(db, { streamId: `account-${held}` }, '1 minute');
    try {
      // The stream is full (the first spec's message): the refused account's event is retried until the deadline.
      for (const [accountId, owner] of [[held, 'Di'], [refused, 'Ed']] as const) {
        expect((await postCommandRequest('OpenAccount', { accountId, owner, currency: 'EUR' })).statusCode).toBe(200);
      }
      await untilFeedHorizonPasses(db);
      lines.length = 0;
      await publish({}, lambdaContext('publisher', 25_000));

      const logged = loggedLines(/NATS|went out|published|parked|held back/);
      expect(logged).toContainEqual(['warn', 'publishing partitions are held back after publishers died holding them; they wait']);
      expect(logged).toContainEqual(['warn', 'not every message went out; they wait']);
      expect(logged).not.toContainEqual(['info', 'published']);
    } finally {
      await releaseHeldBack(db);
    }
  }, 30_000);

  it('given a partition whose backoff the database says has 30 s to run, and a function whose clock is two minutes ahead of the database’s, still says it is held back', async () => {
    const { db } = await getRuntime();
    await holdBack(db, { streamId: 'account-acc-skewed' }, '30 seconds');
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true, now: Date.now() + 120_000 });
    try {
      lines.length = 0;
      await publish({}, lambdaContext('publisher', 25_000));
    } finally {
      vi.useRealTimers();
      await releaseHeldBack(db);
    }

    const heldBack = lines.find((line) => line.message.includes('held back'));
    expect(heldBack?.fields).toMatchObject({ status: { heldBack: [expect.objectContaining({ source: 'events', attempts: 2 })] } });
  }, 30_000);

  it('given an event waiting and a run whose deadline has passed before it leased a partition, says the run ran out of time with messages waiting, not that it published', async () => {
    const { db } = await getRuntime();
    const nc = await connectNats({ servers: nats().url });
    await (await jetstreamManager(nc)).streams.purge(jetStream.name);
    await nc.close();
    expect((await postCommandRequest('OpenAccount', { accountId: 'acc-late', owner: 'Fi', currency: 'EUR' })).statusCode).toBe(200);
    await untilFeedHorizonPasses(db);
    lines.length = 0;
    // The function keeps 22 s of the time left for after the run: with 20 s left, the deadline is already past.
    await publish({}, lambdaContext('publisher', 20_000));

    const logged = lines.filter((line) => /NATS|went out|published|parked|held back|time/.test(line.message));
    expect(logged.at(-1)).toMatchObject({
      level: 'warn',
      message: 'the publisher ran out of time before it was done; the rest waits for the next run',
      fields: { report: { stoppedByDeadline: true } },
    });
    expect((logged.at(-1)?.fields.status as { backlog: number }).backlog).toBeGreaterThan(0);
  }, 30_000);

  it('given the outbox locked by another session through the cleanup\'s second, says the cleanup ran out of its time, beside the run\'s own line', async () => {
    const locker = new pg.Client({ connectionString: database().url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE outbox IN SHARE MODE');
      lines.length = 0;
      await publish({}, lambdaContext('publisher', 25_000));
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }

    const logged = lines.filter((line) => /cleanup/.test(line.message));
    expect(logged).toEqual([
      expect.objectContaining({ level: 'warn', message: 'the outbox cleanup stopped with messages past their retention still to look at; they wait for the next run', fields: expect.objectContaining({ report: expect.objectContaining({ cleanupCutShort: true, cleanupError: null }) as unknown }) as unknown }),
    ]);
  }, 30_000);

  it('given a partition held back since an earlier run and, in this run, another taken over from a dead publisher, says both: that a publisher died, and that partitions are held back', async () => {
    const { db } = await getRuntime();
    const partitions = await eventsPartitions(db);
    await holdBack(db, { partition: 0 }, '1 minute');
    expect(await acquirePartitionLease(db, { group: 'publisher:events', partitions, holder: 'dead', ttlMs: 60_000, only: 1 })).not.toBeNull();
    await expireLeases(db, 'publisher:events');
    try {
      lines.length = 0;
      await publish({}, lambdaContext('publisher', 25_000));
    } finally {
      await releaseHeldBack(db);
    }

    const logged = loggedLines(/died|held back/);
    expect(logged).toEqual([
      ['error', 'a publisher died holding a partition: its batch was counted against it'],
      ['warn', 'publishing partitions are held back after publishers died holding them; they wait'],
    ]);
  }, 30_000);

  it('given every events partition held by a live publisher elsewhere and a message parked in this run, says it is parked, and not that not every message went out', async () => {
    const { db } = await getRuntime();
    const partitions = await eventsPartitions(db);
    await expireLeases(db, 'publisher:events');
    for (let only = 0; only < partitions; only += 1) {
      expect(await acquirePartitionLease(db, { group: 'publisher:events', partitions, holder: 'elsewhere', ttlMs: 60_000, only })).not.toBeNull();
    }
    // No stream captures its subject: parked at once, its error the run's last.
    await db.query("INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES (gen_random_uuid(), 'notices', 'uncaptured.notices', '{}', '{}')");
    await untilFeedHorizonPasses(db);
    try {
      lines.length = 0;
      await publish({}, lambdaContext('publisher', 25_000));
    } finally {
      await db.query("DELETE FROM partition_leases WHERE holder = 'elsewhere'");
    }

    const logged = loggedLines(/NATS|went out|published|parked/);
    expect(logged).toContainEqual(['error', 'messages refused by NATS for good are parked']);
    expect(logged).not.toContainEqual(['warn', 'not every message went out; they wait']);
  }, 30_000);
});
