import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../core/db';
import { runRetention } from '../../core/service';
import { deleteFinishedCommands } from '../../core/commands';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

describe('retention of command records and processed message ids', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createPgDb({ connectionString: database.url, max: 2 });
  });
  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  const command = (id: string, status: string, ageHours: number) =>
    db.query(
      "INSERT INTO commands (command_id, command_type, payload_hash, status, updated_at) VALUES ($1, 'Deposit', 'h', $2, now() - make_interval(hours => $3))",
      [id, status, ageHours],
    );
  const remaining = async (table: 'commands' | 'processed_messages') =>
    (await db.query<{ id: string }>(table === 'commands' ? 'SELECT command_id AS id FROM commands ORDER BY 1' : 'SELECT message_id AS id FROM processed_messages ORDER BY 1')).rows.map((row) => row.id);

  it('deletes finished commands past the retention, oldest first, a bounded batch at a time; never a pending one', async () => {
    for (let n = 1; n <= 5; n += 1) await command(`old-${String(n)}`, n % 2 === 0 ? 'failed' : 'succeeded', 200 + n);
    await command('old-pending', 'pending', 300);
    await command('recent', 'succeeded', 1);

    // Two rows per batch, one batch per run: the first run leaves some for the next, and says so.
    expect(await deleteFinishedCommands(db, { retentionMs: 168 * 3_600_000, batchSize: 2, batches: 1 })).toEqual({ deleted: 2, more: true });
    expect(await remaining('commands')).toEqual(['old-1', 'old-2', 'old-3', 'old-pending', 'recent']);
    expect(await deleteFinishedCommands(db, { retentionMs: 168 * 3_600_000, batchSize: 2, batches: 5 })).toEqual({ deleted: 3, more: false });
    expect(await remaining('commands')).toEqual(['old-pending', 'recent']);
  });

  it('deletes processed message ids past their retention with the scheduled run', async () => {
    await db.query("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('c', 'm-old', now() - interval '200 hours'), ('c', 'm-new', now())");
    expect(await runRetention(db, { COMMAND_RETENTION_HOURS: 168, PROCESSED_MESSAGE_RETENTION_HOURS: 168 })).toEqual({ commands: 0, processedMessages: 1 });
    expect(await remaining('processed_messages')).toEqual(['m-new']);
  });
});
