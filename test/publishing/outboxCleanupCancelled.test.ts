import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb } from '../../core/db';
import { deleteExpiredOutboxRows } from '../../core/publishing/outboxCleanup';
import { sleep } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let database: TestDatabase;
let admin: pg.Client;
beforeAll(async () => {
  database = await createTestDatabase();
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await database.drop();
});

const processors = { outbox: 'publisher:outbox', partitions: 1, events: 'publisher:events' };

describe('an outbox cleanup cancelled by an operator', () => {
  it('given its statement cancelled (pg_cancel_backend) long before its time is up, fails saying so, rather than report it ran out of time', async () => {
    await admin.query("INSERT INTO feed_processors (name, partitions) VALUES ('publisher:outbox', 1)");
    await admin.query(`INSERT INTO outbox (message_id, ordering_key, subject, payload, headers, created_at)
      SELECT gen_random_uuid(), 'k' || n, 'orders.placed', '{}', '{}', now() - interval '48 hours' FROM generate_series(1, 30) AS n`);
    await admin.query(`INSERT INTO processor_partitions (processor, partition, checkpoint_tx, checkpoint_position)
      SELECT 'publisher:outbox', 0, max(tx_id), max(id) FROM outbox`);
    const url = new URL(database.url);
    url.searchParams.set('application_name', 'cancelled_outbox_cleanup');
    const own = createPgDb({ connectionString: url.toString(), max: 1 });
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      // Holds the batch until the operator cancels it.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE parked_messages IN ACCESS EXCLUSIVE MODE');
      const until = Date.now() + 60_000;
      const outcome = deleteExpiredOutboxRows(own, { retentionMs: 3_600_000, batchSize: 10, maxBatches: 5 }, processors, until).then(
        (cleanup) => ({ cleanup }),
        (error: unknown) => ({ error }),
      );
      let cancelled = false;
      for (let tries = 0; tries < 500 && !cancelled; tries += 1) {
        const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'cancelled_outbox_cleanup' AND wait_event_type = 'Lock'");
        if (rows[0]) cancelled = (await admin.query<{ ok: boolean }>('SELECT pg_cancel_backend($1) AS ok', [rows[0].pid])).rows[0]?.ok ?? false;
        else await sleep(10);
      }
      expect(cancelled).toBe(true);

      const { error } = (await outcome) as { error?: Error };
      expect(error?.message).toMatch(/canceling statement due to user request/);
      expect(Date.now()).toBeLessThan(until - 30_000);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await own.close();
    }
  });
});
