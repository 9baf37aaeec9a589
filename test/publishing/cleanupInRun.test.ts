import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db, type Queryable } from '../../core/db';
import { opened, uniqueStreamId, type AccountEvent } from '../support/fixtures';
import { untilFeedHorizonPasses } from '../support/feedHorizon';
import { countedMetrics } from '../support/countedMetrics';
import { readStoredMessages } from '../support/natsTesting';
import { statementTimesOut } from '../support/statementTimesOut';
import { startPublishingHarness, type PublishingHarness } from './publishingHarness';

let harness: PublishingHarness;
let admin: pg.Client;

beforeAll(async () => {
  harness = await startPublishingHarness();
  await jetstreamManager(harness.nc).then((jsm) => jsm.streams.add({ name: harness.streamName, subjects: [`${harness.subjectPrefix}.>`] }));
  admin = new pg.Client({ connectionString: harness.database.url });
  await admin.connect();
});

afterAll(async () => {
  await admin.end();
  await harness.close();
});

const retention = { retentionMs: 3_600_000, batchSize: 1_000, maxBatches: 10 };

/** `db`, running `before(tx)` in the outbox cleanup's transaction just before its statement. */
function beforeCleanupStatement(db: Db, before: () => Promise<void>): Db {
  const wrap = (queryable: Queryable): Queryable => ({
    async query(text, params, options) {
      if (text.includes('DELETE FROM outbox')) await before();
      return queryable.query(text, params, options);
    },
  });
  return { ...wrap(db), transaction: (work) => db.transaction((tx) => work(wrap(tx))), close: () => db.close() };
}

/** An account opened with a notice keyed by its stream; its stream id. */
async function openedWithNotice(): Promise<string> {
  const streamId = uniqueStreamId();
  const notice = { subject: `${harness.subjectPrefix}.notices.sent`, orderingKey: streamId, body: { streamId } };
  await harness.store.appendToStream<AccountEvent>({ streamId, streamType: 'account', expectedVersion: 'no_stream', events: [opened()], messages: [notice] });
  await untilFeedHorizonPasses(harness.db);
  return streamId;
}

const storedOf = async (streamId: string) =>
  (await readStoredMessages(harness.nc, harness.streamName)).filter(
    (message) => message.header.get('Stream-Id') === streamId || (message.subject.endsWith('.notices.sent') && message.json<{ streamId: string }>().streamId === streamId),
  ).length;

/** Integration messages written two days ago, every outbox partition's checkpoint past them: published, and past the retention. */
async function oldPublishedMessages(count: number, partitions: number): Promise<void> {
  await admin.query(
    `INSERT INTO outbox (message_id, ordering_key, subject, payload, headers, created_at)
     SELECT gen_random_uuid(), 'old-' || (n % 10), $2, '{}', '{}', now() - interval '48 hours' FROM generate_series(1, $1) AS n`,
    [count, `${harness.subjectPrefix}.notices.old`],
  );
  await admin.query(
    `INSERT INTO processor_partitions (processor, partition, checkpoint_tx, checkpoint_position)
     SELECT 'publisher:outbox', p, (SELECT max(tx_id) FROM outbox), (SELECT max(id) FROM outbox) FROM generate_series(0, $1 - 1) AS p
     ON CONFLICT (processor, partition) DO UPDATE SET checkpoint_tx = EXCLUDED.checkpoint_tx, checkpoint_position = EXCLUDED.checkpoint_position`,
    [partitions],
  );
}

const oldLeft = async () => (await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE created_at < now() - interval '1 hour'")).rows[0]?.n;

describe('the outbox cleanup at the end of a publisher run', () => {
  /** A pool whose sessions give up on a lock after 200 ms, and a lock on the outbox (as CREATE INDEX takes) taken just before the cleanup's nth statement. */
  async function outboxLockedAtCleanupStatement(nth: number) {
    const url = new URL(harness.database.url);
    url.searchParams.set('options', '-c lock_timeout=200');
    const pool = createPgDb({ connectionString: url.toString(), max: 3 });
    const locker = new pg.Client({ connectionString: harness.database.url });
    await locker.connect();
    const lock = { statements: 0, taken: false };
    const db = beforeCleanupStatement(pool, async () => {
      lock.statements += 1;
      if (lock.statements !== nth) return;
      lock.taken = true;
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE outbox IN SHARE MODE');
    });
    const release = async () => {
      if (lock.taken) await locker.query('ROLLBACK');
      await locker.end();
      await pool.close();
    };
    return { db, release };
  }

  it('given a lock on the outbox it cannot get in time, reports and counts the cleanup\'s failure beside what the run published, rather than failing the run', async () => {
    const { db, release } = await outboxLockedAtCleanupStatement(1);
    try {
      const streamId = await openedWithNotice();
      const metrics = countedMetrics();

      const report = await harness.publisher({ db, partitions: 1, retention }).run({ deadline: Date.now() + 10_000 });

      expect(report).toMatchObject({ published: 2, caughtUp: true, cleaned: 0 });
      expect(report.cleanupError).toMatch(/lock timeout/);
      expect(await storedOf(streamId)).toBe(2);
      metrics.stop();
      expect(metrics.counted).toMatchObject({ OutboxCleanupFailures: 1 });
      expect(metrics.counted.OutboxCleaned).toBeUndefined();
    } finally {
      await release();
    }
  });

  it('given its second batch failing on a lock, reports and counts what its first batch deleted for good beside the failure', async () => {
    const { db, release } = await outboxLockedAtCleanupStatement(2);
    try {
      // Registers the processors, whose checkpoints the old messages are put behind.
      await harness.publisher({ partitions: 1, retention }).run({ deadline: Date.now() + 5_000 });
      await oldPublishedMessages(300, 1);
      const metrics = countedMetrics();

      const report = await harness.publisher({ db, partitions: 1, retention: { ...retention, batchSize: 100 } }).run({ deadline: Date.now() + 10_000 });

      expect(report.cleaned).toBe(100);
      expect(report.cleanupError).toMatch(/lock timeout/);
      expect(await oldLeft()).toBe(200);
      metrics.stop();
      expect(metrics.counted).toMatchObject({ OutboxCleaned: 100, OutboxCleanupFailures: 1 });
    } finally {
      await release();
      await admin.query("DELETE FROM outbox WHERE created_at < now() - interval '1 hour'");
    }
  });

  it('given the events feed\'s page failing on every run, still deletes old published integration messages and counts them, then fails the run with the page\'s error', async () => {
    const pool = createPgDb({ connectionString: harness.database.url, max: 3 });
    const failingEventsPage = statementTimesOut(pool, (_text, _params, options) => options?.name === 'publisher_event_page');
    try {
      const publisher = harness.publisher({ db: failingEventsPage, partitions: 1, retention });
      // Registers the processors, and fails on the events page already.
      await expect(publisher.run({ deadline: Date.now() + 5_000 })).rejects.toThrow(/statement timeout/);
      await oldPublishedMessages(500, 1);
      const metrics = countedMetrics();

      await expect(publisher.run({ deadline: Date.now() + 5_000 })).rejects.toThrow(/statement timeout/);

      expect(await oldLeft()).toBe(0);
      // The run's report is lost with its error: what the cleanup deleted is counted as it deletes.
      metrics.stop();
      expect(metrics.counted).toMatchObject({ OutboxCleaned: 500 });
      expect(metrics.counted.OutboxCleanupFailures).toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it('given more old parked messages ahead of old published ones than one run\'s cleanup walks, each next run of the same publisher goes on past them and deletes the published ones', async () => {
    const { rows } = await admin.query<{ message_id: string }>(
      `INSERT INTO outbox (message_id, ordering_key, subject, payload, headers, created_at)
       SELECT gen_random_uuid(), 'parked-' || (n % 10), $2, '{}', '{}', now() - interval '50 hours' FROM generate_series(1, $1) AS n RETURNING message_id`,
      [2_500, `${harness.subjectPrefix}.notices.refused`],
    );
    const parked = rows.map((row) => row.message_id);
    await admin.query("INSERT INTO parked_messages (message_id, source, ordering_key, subject, error) SELECT id, 'outbox', 'parked', 'notices', 'refused' FROM unnest($1::uuid[]) AS id", [parked]);
    await oldPublishedMessages(300, 1);
    // Two batches of 100 a run, each walking at most 1,000 old rows.
    const publisher = harness.publisher({ partitions: 1, retention: { ...retention, batchSize: 100, maxBatches: 2 } });
    try {
      const cleaned = [];
      for (let run = 0; run < 3; run++) cleaned.push((await publisher.run({ deadline: Date.now() + 5_000 })).cleaned);

      // The first run walks parked messages only; the next ones go on from there.
      expect(cleaned).toEqual([0, 200, 100]);
      expect(await oldLeft()).toBe(2_500);
    } finally {
      await publisher.close();
      await admin.query('DELETE FROM parked_messages WHERE message_id = ANY ($1::uuid[])', [parked]);
      await admin.query('DELETE FROM outbox WHERE message_id = ANY ($1::uuid[])', [parked]);
    }
  });
});
