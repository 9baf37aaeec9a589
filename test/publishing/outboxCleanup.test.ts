import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPgDb, type Db, type Queryable } from '../../core/db';
import { deleteExpiredOutboxRows, type OutboxCleanupCursor } from '../../core/publishing/outboxCleanup';
import { sleep } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// What one cleanup run reads of the outbox, from each batch's plan as PostgreSQL ran it
// (EXPLAIN ANALYZE in a transaction rolled back at once, before the batch itself runs).

let database: TestDatabase;
let db: Db;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createPgDb({ connectionString: database.url, max: 2 });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});

afterAll(async () => {
  await admin.end();
  await db.close();
  await database.drop();
});

async function emptied(client: pg.Client): Promise<void> {
  await client.query('DELETE FROM parked_messages');
  await client.query('DELETE FROM outbox');
  await client.query("INSERT INTO feed_processors (name, partitions) VALUES ('publisher:outbox', 1) ON CONFLICT DO NOTHING");
}

beforeEach(() => emptied(admin));

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}

const outboxRowsRead = (node: PlanNode): number =>
  (node['Relation Name'] === 'outbox' ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1) : 0) +
  (node.Plans ?? []).reduce((sum, child) => sum + outboxRowsRead(child), 0);

/** Rows the plan's joins compared and let go: a batch that compares its rows with each other does so the square of their number of times. */
const rowsComparedAway = (node: PlanNode): number =>
  (node['Rows Removed by Join Filter'] ?? 0) + (node.Plans ?? []).reduce((sum, child) => sum + rowsComparedAway(child), 0);

/** The cleanup's pool, reporting what each of its batches reads (and, if asked, what its joins compared away). */
function measured(read: number[], compared: number[] = []): Db {
  const measuring = (queryable: Queryable): Queryable => ({
    async query(text, params, options) {
      if (!text.includes('DELETE')) return queryable.query(text, params, options);
      await admin.query('BEGIN');
      try {
        const { rows } = await admin.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params as unknown[]);
        read.push(outboxRowsRead(rows[0]?.['QUERY PLAN'][0]?.Plan ?? {}));
        compared.push(rowsComparedAway(rows[0]?.['QUERY PLAN'][0]?.Plan ?? {}));
      } finally {
        await admin.query('ROLLBACK');
      }
      return queryable.query(text, params, options);
    },
  });
  return { ...measuring(db), transaction: (work) => db.transaction((tx) => work(measuring(tx))), close: () => db.close() };
}

/** Integration messages written this many hours ago (each a minute after the one before, if asked), published (the checkpoint is moved past them below), parked if asked. */
async function written(client: pg.Client, count: number, hoursAgo: number, parked = false, minutesApart = 0): Promise<void> {
  const { rows } = await client.query<{ message_id: string }>(
    `INSERT INTO outbox (message_id, ordering_key, subject, payload, headers, created_at)
     SELECT gen_random_uuid(), 'key-' || (n % 50), 'bank.notices', '{}'::json, '{}'::json, now() - make_interval(hours => $2) + make_interval(mins => n * $3)
     FROM generate_series(1, $1) AS n RETURNING message_id`,
    [count, hoursAgo, minutesApart],
  );
  if (parked) {
    await client.query(`INSERT INTO parked_messages (message_id, source, ordering_key, subject, error) SELECT id, 'outbox', 'key', 'bank.notices', 'no stream' FROM unnest($1::uuid[]) AS id`, [
      rows.map((row) => row.message_id),
    ]);
  }
}

async function publishedAll(client: pg.Client): Promise<void> {
  await client.query(`INSERT INTO processor_partitions (processor, partition, checkpoint_tx, checkpoint_position)
    SELECT 'publisher:outbox', 0, max(tx_id), max(id) FROM outbox
    ON CONFLICT (processor, partition) DO UPDATE SET checkpoint_tx = EXCLUDED.checkpoint_tx, checkpoint_position = EXCLUDED.checkpoint_position`);
  await client.query('ANALYZE outbox');
  await client.query('ANALYZE parked_messages');
}

const policy = { retentionMs: 3_600_000, batchSize: 100, maxBatches: 10 };
const processors = { outbox: 'publisher:outbox', partitions: 1, events: 'publisher:events' };

/** Cleanup runs, each going on from where the last stopped, until one reaches the last old row. */
async function cleanup(): Promise<{ deleted: number; read: number; runs: number }> {
  const read: number[] = [];
  let deleted = 0;
  let runs = 0;
  let from: OutboxCleanupCursor | null = null;
  do {
    const run = await deleteExpiredOutboxRows(measured(read), policy, processors, Number.POSITIVE_INFINITY, from);
    deleted += run.deleted;
    runs += 1;
    from = run.resumeAfter;
  } while (from !== null);
  return { deleted, read: read.reduce((sum, rows) => sum + rows, 0), runs };
}

const left = async () => (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]?.n;

describe('the outbox cleanup', () => {
  it('given only messages younger than the retention, deletes none and reads none of them', async () => {
    await written(admin, 20_000, 0);
    await publishedAll(admin);
    expect(await cleanup()).toEqual({ deleted: 0, read: 0, runs: 1 });
    expect(await left()).toBe(20_000);
  });

  it('given old parked messages ahead of old published ones and young ones behind, deletes the published old ones, reading each old row about once, not once per batch', async () => {
    await written(admin, 5_000, 48, true);
    await written(admin, 1_000, 47);
    await written(admin, 20_000, 0);
    await publishedAll(admin);
    const run = await cleanup();
    expect(run).toMatchObject({ deleted: 1_000, runs: 2 });
    expect(await left()).toBe(25_000);
    // A parked row is read by its batch's walk and by the lookup of its window's end, a deleted one by the walk, its lock and its DELETE:
    // some 2 x 5,000 + 3 x 1,000, where each of the batches read them all again.
    expect(run.read).toBeLessThan(3 * 6_000);
  });

  it('given more old parked messages ahead of old published ones than a run\'s batches walk, each next run goes on from where the last stopped, deletes the published ones, and once it reached the end starts over', async () => {
    await written(admin, 2_500, 48, true);
    await written(admin, 300, 47);
    await publishedAll(admin);
    // Two batches a run, each walking at most ten old rows for each it may delete.
    const short = { ...policy, maxBatches: 2 };

    const runs = [];
    let from: OutboxCleanupCursor | null = null;
    for (let run = 0; run < 3; run++) {
      const cleanup = await deleteExpiredOutboxRows(db, short, processors, Number.POSITIVE_INFINITY, from);
      runs.push(cleanup.deleted);
      from = cleanup.resumeAfter;
    }

    // The first run walks parked messages only; the second gets past them, deleting a batch in each statement; the third reaches the end.
    expect(runs).toEqual([0, 200, 100]);
    expect(from).toBeNull();
    expect(await left()).toBe(2_500);
  });

  it('given a backlog of old published messages, a batch\'s work grows with the rows it deletes, not with their square', async () => {
    // A minute apart, the newest some 22 hours old.
    await written(admin, 3_000, 72, false, 1);
    await publishedAll(admin);
    const read: number[] = [];
    const compared: number[] = [];

    const { deleted } = await deleteExpiredOutboxRows(measured(read, compared), { ...policy, batchSize: 1_000, maxBatches: 3 }, processors);

    expect(deleted).toBe(3_000);
    // A batch comparing each of its 1,000 rows with those after it lets some 500,000 pairs go.
    expect(Math.max(...compared)).toBeLessThan(10 * 1_000);
  });

  it('given no time left, or a batch that would outlast its time, stops at its bound and says it was cut short, and a later run deletes what it left', async () => {
    await written(admin, 300, 48);
    await publishedAll(admin);
    expect(await deleteExpiredOutboxRows(db, policy, processors, Date.now() - 1)).toEqual({ deleted: 0, cutShort: true, resumeAfter: null });

    // A batch that waits (here on a lock; in production, walking a great many old rows it must keep) is cut at the bound.
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE parked_messages IN ACCESS EXCLUSIVE MODE');
    const released = sleep(4_000).then(() => admin.query('ROLLBACK'));
    try {
      const started = Date.now();
      expect(await deleteExpiredOutboxRows(db, policy, processors, started + 300)).toEqual({ deleted: 0, cutShort: true, resumeAfter: null });
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      await released;
    }
    expect(await left()).toBe(300);
    expect(await deleteExpiredOutboxRows(db, policy, processors, Date.now() + 10_000)).toEqual({ deleted: 300, cutShort: false, resumeAfter: null });
  });

  it('given more old published messages than its batches delete, deletes its batches\' worth and says it was cut short; the run that reaches the last one says it was not', async () => {
    await written(admin, 250, 48);
    await publishedAll(admin);
    const twoBatches = { ...policy, maxBatches: 2 };

    expect(await deleteExpiredOutboxRows(db, twoBatches, processors, Date.now() + 10_000)).toEqual({ deleted: 200, cutShort: true, resumeAfter: null });
    expect(await deleteExpiredOutboxRows(db, twoBatches, processors, Date.now() + 10_000)).toEqual({ deleted: 50, cutShort: false, resumeAfter: null });
    expect(await left()).toBe(0);
  });

  it('given more old messages it must keep (parked) than its batches walk, and none to delete, never says it was cut short: no run would delete them', async () => {
    await written(admin, 100, 48, true);
    await publishedAll(admin);
    const small = { ...policy, batchSize: 2, maxBatches: 2 };
    const runs: { deleted: number; cutShort: boolean }[] = [];
    let from: OutboxCleanupCursor | null = null;

    for (let run = 0; run < 4; run += 1) {
      const { deleted, cutShort, resumeAfter } = await deleteExpiredOutboxRows(db, small, processors, Date.now() + 10_000, from);
      runs.push({ deleted, cutShort });
      from = resumeAfter;
    }

    expect(runs).toEqual(Array.from({ length: 4 }, () => ({ deleted: 0, cutShort: false })));
  });

  it('given a few messages to delete among many it must keep, and a backlog past them, says it was cut short when its batches are used up', async () => {
    for (const hoursAgo of [50, 49]) {
      await written(admin, 1, hoursAgo);
      await written(admin, 19, hoursAgo, true);
    }
    await written(admin, 200, 48);
    await publishedAll(admin);

    const run = await deleteExpiredOutboxRows(db, { ...policy, batchSize: 2, maxBatches: 2 }, processors, Date.now() + 10_000);

    expect(run).toMatchObject({ deleted: 2, cutShort: true });
  });

  it('given its time running out while it walks only old messages it must keep (a slow database), does not say it was cut short', async () => {
    // Twenty windows of them: more than the time allows.
    await written(admin, 400, 48, true);
    await publishedAll(admin);
    // Each batch takes its time, as on a loaded database.
    const slow: Db = { ...db, transaction: async (work) => db.transaction(work).finally(() => sleep(60)) };

    const run = await deleteExpiredOutboxRows(slow, { ...policy, batchSize: 2, maxBatches: 100 }, processors, Date.now() + 300);

    expect(run).toMatchObject({ deleted: 0, cutShort: false });
    expect(run.resumeAfter).not.toBeNull();
  });

  it('given a retention of less than a microsecond (the smallest a number can be), deletes the published messages as a retention of none would, where PostgreSQL refused the exact quotient', async () => {
    await written(admin, 10, 1);
    await publishedAll(admin);

    const run = await deleteExpiredOutboxRows(db, { ...policy, retentionMs: Number.MIN_VALUE }, processors, Number.POSITIVE_INFINITY);

    expect(run).toEqual({ deleted: 10, cutShort: false, resumeAfter: null });
    expect(await left()).toBe(0);
  });

  it('given exactly one full batch of old published messages and no time left after it, deleted them all and says it was not cut short', async () => {
    await written(admin, 100, 48);
    await publishedAll(admin);
    const until = Date.now() + 2_000;
    // Each batch's transaction ends past the cleanup's time.
    const slow: Db = { ...db, transaction: async (work) => db.transaction(work).finally(() => sleep(Math.max(0, until - Date.now()) + 10)) };

    expect(await deleteExpiredOutboxRows(slow, policy, processors, until)).toEqual({ deleted: 100, cutShort: false, resumeAfter: null });
  });

  it('given sessions whose dates read back as another zone (DateStyle Postgres, TimeZone Asia/Kolkata, whose IST PostgreSQL reads as Israel time), deletes every deletable message that fits its batches in one run', async () => {
    await written(admin, 300, 48, false, 1);
    await publishedAll(admin);
    const url = new URL(database.url);
    url.searchParams.set('options', '-c DateStyle=Postgres -c TimeZone=Asia/Kolkata');
    const kolkata = createPgDb({ connectionString: url.toString(), max: 1 });
    try {
      expect(await deleteExpiredOutboxRows(kolkata, policy, processors)).toEqual({ deleted: 300, cutShort: false, resumeAfter: null });
      expect(await left()).toBe(0);
    } finally {
      await kolkata.close();
    }
  });

  it('given a backlog of old published messages, runs on one warm connection go on reading about what they delete, batch after batch', async () => {
    // The table's statistics count every connection's reads, and a connection may flush its
    // own up to ten seconds after it goes idle: on a database of its own, only the cleanup's
    // connection reads the outbox once this test's setup has flushed what it read.
    const own = await createTestDatabase();
    const setup = new pg.Client({ connectionString: own.url });
    await setup.connect();
    const warm = createPgDb({ connectionString: own.url, max: 1 });
    const readSoFar = async () => {
      await warm.query('SELECT pg_stat_force_next_flush()');
      await setup.query('SELECT pg_stat_force_next_flush()');
      await setup.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await setup.query<{ read: string }>("SELECT (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text AS read FROM pg_stat_user_tables WHERE relname = 'outbox'");
      return Number(rows[0]?.read);
    };
    try {
      await emptied(setup);
      await written(setup, 30_000, 48);
      await publishedAll(setup);
      const before = await readSoFar();
      let deleted = 0;
      // Thirty batches on the connection: a prepared statement would be on its generic plan from the sixth.
      for (let run = 0; run < 3; run++) deleted += (await deleteExpiredOutboxRows(warm, policy, processors)).deleted;
      expect(deleted).toBe(3_000);
      // Each deleted row is read by its batch's walk, its lock and its DELETE: some 3 x 3,000, where a plan that read every old row in each batch read some 30 x 15,000.
      expect((await readSoFar()) - before).toBeLessThan(4 * 3_000);
    } finally {
      await warm.close();
      await setup.end();
      await own.drop();
    }
  });
});
