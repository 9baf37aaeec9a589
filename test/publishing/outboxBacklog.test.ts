import { describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../core/db';
import { LAG_SCAN_BOUND, START_OF_FEED, type Checkpoint } from '../../core/eventstore';
import { outboxMessages } from '../../core/publishing/outboxMessages';
import { streamIdInPartition } from '../support/streamInPartition';
import { usePooledTestDatabase } from '../support/pooledTestDatabase';

const db = usePooledTestDatabase(2);

/** `count` waiting integration messages of one key, written an hour ago. */
async function waitingMessages(database: Db, key: string, count: number): Promise<void> {
  await database.query(
    `INSERT INTO outbox (message_id, ordering_key, subject, payload, headers, created_at)
     SELECT gen_random_uuid(), $1, 'orders.placed', '{}', '{}', now() - interval '1 hour' FROM generate_series(1, $2::integer)`,
    [key, count],
  );
  await database.query('ANALYZE outbox');
}

/** The outbox rows the current transaction has read so far, by sequential scans and by index. */
async function outboxRowsRead(tx: Queryable): Promise<{ seqScans: number; rowsRead: number }> {
  const { rows } = await tx.query<{ seq_scan: string; seq_tup_read: string; idx_tup_fetch: string }>(
    "SELECT seq_scan, seq_tup_read, coalesce(idx_tup_fetch, 0) AS idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = 'outbox'",
  );
  const row = rows[0];
  return { seqScans: Number(row?.seq_scan ?? 0), rowsRead: Number(row?.seq_tup_read ?? 0) + Number(row?.idx_tup_fetch ?? 0) };
}

describe('the outbox backlog of a publisher partition', () => {
  it('given a backlog longer than one count walks, reads no more of it than the walk, in the page\'s order by its index, and says it is capped', async () => {
    const start = await outboxEnd(db());
    await waitingMessages(db(), await streamIdInPartition(db(), 0, 2), LAG_SCAN_BOUND * 1.5);

    const { lag, read } = await db().transaction(async (tx) => {
      // PostgreSQL 15 shows a session's counts not yet flushed from its earlier transactions too (outboxEnd's scan).
      const before = await outboxRowsRead(tx);
      const counted = await outboxMessages().lag(tx, { after: start, partition: { index: 0, count: 2 }, limit: 1_000 });
      const after = await outboxRowsRead(tx);
      return { lag: counted, read: { seqScans: after.seqScans - before.seqScans, rowsRead: after.rowsRead - before.rowsRead } };
    });

    expect(lag).toMatchObject({ items: 1_000, capped: true });
    expect(lag.oldestAgeSeconds).toBeGreaterThanOrEqual(3_600);
    expect(read.seqScans).toBe(0);
    // The walk, the row that says more lies past it, and the one its row numbering looks ahead to.
    expect(read.rowsRead).toBeLessThanOrEqual(LAG_SCAN_BOUND + 2);
  });

  it('behind more messages of other keys than one count walks (by one), says it is capped, and as far behind as the first message it has still to walk past', async () => {
    const start = await outboxEnd(db());
    await waitingMessages(db(), await streamIdInPartition(db(), 0, 2), LAG_SCAN_BOUND + 1);
    const quiet = await streamIdInPartition(db(), 1, 2);
    await db().query("INSERT INTO outbox (message_id, ordering_key, subject, payload, headers) VALUES (gen_random_uuid(), $1, 'orders.placed', '{}', '{}')", [quiet]);

    const lag = await outboxMessages().lag(db(), { after: start, partition: { index: 1, count: 2 }, limit: 10_000 });

    expect(lag).toMatchObject({ items: 0, capped: true });
    expect(lag.oldestAgeSeconds).toBeGreaterThanOrEqual(3_600);
    expect(lag.oldestAgeSeconds).toBeLessThan(3_600 + 120);
  });

  it('given exactly as many messages of other keys as a count walks, and nothing after them, says nothing waits', async () => {
    const start = await outboxEnd(db());
    await waitingMessages(db(), await streamIdInPartition(db(), 0, 2), LAG_SCAN_BOUND);

    const lag = await outboxMessages().lag(db(), { after: start, partition: { index: 1, count: 2 }, limit: 10_000 });

    expect(lag).toEqual({ items: 0, capped: false, oldestAgeSeconds: 0 });
  });
});

/** Where the outbox ends now: the file's tests share its database, and each counts from where it began. */
async function outboxEnd(database: Db): Promise<Checkpoint> {
  // Ordered by the columns, not by their text ('99999' sorts after '100001').
  const { rows } = await database.query<{ tx_id: string; id: string }>('SELECT o.tx_id::text AS tx_id, o.id::text AS id FROM outbox o ORDER BY o.tx_id DESC, o.id DESC LIMIT 1');
  const row = rows[0];
  return row ? { txId: BigInt(row.tx_id), position: BigInt(row.id) } : START_OF_FEED;
}
