import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, DeletionStoppedError, RetentionOptionsError, type Db, type Queryable, type RetentionOptions } from '../../core/db';
import { RetentionFailedError, retentionConfigFromEnv, runRetention } from '../../core/service';
import { deleteFinishedCommands } from '../../core/commands';
import { deleteOldProcessedMessages } from '../../core/publishing';
import { sleep } from '../support/fixtures';
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
  /** A finished command record and a processed message id, each 300 hours old: past the retention of both steps. */
  const oldOfEach = async (commandId: string, messageId: string) => {
    await command(commandId, 'succeeded', 300);
    await db.query("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('c', $1, now() - interval '300 hours')", [messageId]);
  };
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

  it('refuses a retention or batching no cleanup could run with, before deleting anything', async () => {
    await command('fresh-command', 'succeeded', 0);
    await db.query("INSERT INTO processed_messages (consumer, message_id) VALUES ('c', 'fresh-message')");
    const refused = [
      { retentionMs: -1 },
      { retentionMs: Number.NaN },
      { retentionMs: Number.POSITIVE_INFINITY },
      { retentionMs: 1_001 * 365 * 24 * 3_600_000 },
      { retentionMs: 0, batchSize: 0 },
      { retentionMs: 0, batchSize: 1.5 },
      { retentionMs: 0, batches: 0 },
      // What a JavaScript caller or a parsed config may hand over: each would pass a comparison alone.
      ...([null, '', true, [86_400_000]] as unknown as number[]).map((retentionMs) => ({ retentionMs })),
    ];

    // No options at all, from JavaScript, destructured before anything was checked.
    for (const options of [...refused, undefined as unknown as RetentionOptions, null as unknown as RetentionOptions]) {
      await expect(deleteFinishedCommands(db, options), JSON.stringify(options)).rejects.toBeInstanceOf(RetentionOptionsError);
      await expect(deleteOldProcessedMessages(db, options), JSON.stringify(options)).rejects.toBeInstanceOf(RetentionOptionsError);
    }

    expect(await remaining('commands')).toContain('fresh-command');
    expect(await remaining('processed_messages')).toContain('fresh-message');
    await db.query("DELETE FROM commands WHERE command_id = 'fresh-command'");
    await db.query("DELETE FROM processed_messages WHERE message_id = 'fresh-message'");
  });

  it('given a retention of less than a microsecond (the smallest a number can be), deletes the old rows of both steps as a retention of none would, where PostgreSQL refused the quotient', async () => {
    await oldOfEach('tiny-retention-command', 'tiny-retention-message');

    await expect(deleteFinishedCommands(db, { retentionMs: Number.MIN_VALUE })).resolves.toMatchObject({ more: false });
    await expect(deleteOldProcessedMessages(db, { retentionMs: Number.MIN_VALUE })).resolves.toMatchObject({ more: false });

    expect(await remaining('commands')).not.toContain('tiny-retention-command');
    expect(await remaining('processed_messages')).not.toContain('tiny-retention-message');
  });

  it('refuses a COMMAND_RETENTION_HOURS longer than ten years, which would fail every scheduled run; the longest it accepts runs', async () => {
    for (const refused of ['', '0', '-1', '87601', '1e12']) {
      expect(() => retentionConfigFromEnv({ COMMAND_RETENTION_HOURS: refused }), refused).toThrow(/Invalid retention configuration: COMMAND_RETENTION_HOURS/);
    }

    const longest = retentionConfigFromEnv({ COMMAND_RETENTION_HOURS: '87600' });

    expect(longest.COMMAND_RETENTION_HOURS).toBe(87_600);
    await expect(runRetention(db, longest)).resolves.toEqual({ commands: 0, processedMessages: 0 });
  });

  it('deletes processed message ids past their retention with the scheduled run', async () => {
    await db.query("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('c', 'm-old', now() - interval '200 hours'), ('c', 'm-new', now())");
    expect(await runRetention(db, { COMMAND_RETENTION_HOURS: 168, PROCESSED_MESSAGE_RETENTION_HOURS: 168 })).toEqual({ commands: 0, processedMessages: 1 });
    expect(await remaining('processed_messages')).toEqual(['m-new']);
  });

  /**
   * Runs `work` on a pool whose statements wait at most 300 ms for a lock (as a
   * statement bound would give up on it) while another session holds the
   * command records locked, and gives what it threw (or else gave); the lock is let go after.
   */
  async function failureWithCommandsLocked(work: (bounded: Db) => Promise<unknown>): Promise<unknown> {
    const url = new URL(database.url);
    url.searchParams.set('options', '-c lock_timeout=300');
    const bounded = createPgDb({ connectionString: url.toString(), max: 1 });
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE commands IN ACCESS EXCLUSIVE MODE');
      return await work(bounded).catch((thrown: unknown) => thrown);
    } finally {
      await locker.end();
      await bounded.close();
    }
  }

  const config = { COMMAND_RETENTION_HOURS: 168, PROCESSED_MESSAGE_RETENTION_HOURS: 168 };

  it('given the command records locked by another session, still deletes old processed message ids, and then says which step failed and what the other deleted', async () => {
    await oldOfEach('locked-out', 'm-starved');

    const error = await failureWithCommandsLocked((bounded) => runRetention(bounded, config));

    expect(error).toBeInstanceOf(RetentionFailedError);
    expect(error).toMatchObject({ code: 'RETENTION_FAILED', failed: ['commands'], deleted: { processedMessages: 1 } });
    expect(String(error)).toMatch(/commands.*lock timeout/);
    expect(await remaining('processed_messages')).not.toContain('m-starved');
    expect(await remaining('commands')).toContain('locked-out');
    await db.query("DELETE FROM commands WHERE command_id = 'locked-out'");
  });

  it('given the command records locked by another session and a run in the caller\'s transaction, still deletes old processed message ids there, says only the commands step failed, and leaves the transaction usable', async () => {
    await oldOfEach('locked-in-tx', 'm-in-tx');

    const error = await failureWithCommandsLocked((bounded) =>
      bounded.transaction(async (tx) => {
        const thrown = await runRetention(tx, config).then(
          () => undefined,
          (failure: unknown) => failure,
        );
        // The caller goes on in its transaction, which commits what the other step deleted.
        await tx.query('SELECT 1');
        return thrown;
      }),
    );

    expect(error).toMatchObject({ code: 'RETENTION_FAILED', failed: ['commands'], deleted: { processedMessages: 1 } });
    expect(await remaining('processed_messages')).not.toContain('m-in-tx');
    expect(await remaining('commands')).toContain('locked-in-tx');
    await db.query("DELETE FROM commands WHERE command_id = 'locked-in-tx'");
  });

  it('given a plain connection, in autocommit with no transaction open, deletes old rows of both steps', async () => {
    await oldOfEach('old-on-client', 'm-on-client');
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      expect(await runRetention(client, config)).toEqual({ commands: 1, processedMessages: 1 });
      expect(await remaining('commands')).not.toContain('old-on-client');
      expect(await remaining('processed_messages')).not.toContain('m-on-client');
    } finally {
      await client.end();
    }
  });

  /**
   * 1,001 old finished commands named `prefix`-n, and a cleanup's first batch of 1,000
   * deleting before another session locks the command records (as CREATE INDEX would),
   * so that its second batch waits: `run` gets a pool whose statements wait at most
   * 300 ms for a lock, and what it gives is returned.
   */
  async function withSecondBatchLockedOut(prefix: string, run: (bounded: Db) => Promise<unknown>): Promise<unknown> {
    await db.query(
      `INSERT INTO commands (command_id, command_type, payload_hash, status, updated_at)
       SELECT $1 || n, 'Deposit', 'h', 'succeeded', now() - interval '300 hours' - make_interval(secs => 2000 - n) FROM generate_series(1, 1001) AS n`,
      [prefix],
    );
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    const url = new URL(database.url);
    url.searchParams.set('options', '-c lock_timeout=300');
    const bounded = createPgDb({ connectionString: url.toString(), max: 1 });
    let batches = 0;
    const lockedOutAfterFirstBatch = (target: Queryable): Queryable => ({
      async query(text, params, options) {
        if (text.includes('DELETE FROM commands') && ++batches === 2) await locker.query('BEGIN; LOCK TABLE commands IN SHARE MODE');
        return target.query(text, params, options);
      },
    });
    try {
      return await run({ ...lockedOutAfterFirstBatch(bounded), transaction: (work) => bounded.transaction((tx) => work(lockedOutAfterFirstBatch(tx))), close: () => bounded.close() });
    } finally {
      await locker.end();
      await bounded.close();
    }
  }

  /**
   * 1,001 old finished commands named `prefix`-n, and a trigger refusing to delete the
   * newest, so that a cleanup's first batch of 1,000 deletes and its second fails:
   * what `run` gives is returned, and the trigger dropped.
   */
  async function withSecondBatchRefused(prefix: string, run: () => Promise<unknown>): Promise<unknown> {
    await db.query(
      `INSERT INTO commands (command_id, command_type, payload_hash, status, updated_at)
       SELECT $1 || n, 'Deposit', 'h', 'succeeded', now() - interval '300 hours' - make_interval(secs => 2000 - n) FROM generate_series(1, 1001) AS n`,
      [prefix],
    );
    await db.query(`CREATE FUNCTION refuse_newest_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the newest record may not go'; END $$`);
    await db.query(`CREATE TRIGGER refuse_newest_delete BEFORE DELETE ON commands FOR EACH ROW
      WHEN (OLD.command_id = '${prefix}1001') EXECUTE FUNCTION refuse_newest_delete()`);
    try {
      return await run();
    } finally {
      await db.query('DROP TRIGGER refuse_newest_delete ON commands');
      await db.query('DROP FUNCTION refuse_newest_delete()');
    }
  }

  const left = async (prefix: string) => (await remaining('commands')).filter((id) => id.startsWith(prefix));

  it('on a pool, given a step whose first batch committed and whose second could not get its lock, says what that step deleted for good', async () => {
    const error = await withSecondBatchLockedOut('bulk-', (bounded) => runRetention(bounded, config).catch((thrown: unknown) => thrown));

    expect(error).toMatchObject({ code: 'RETENTION_FAILED', failed: ['commands'], deleted: { commands: 1_000 } });
    expect(String(error)).toMatch(/commands: .*stopped after deleting 1000 rows: .*lock timeout/);
    expect(await left('bulk-')).toEqual(['bulk-1001']);
    await db.query("DELETE FROM commands WHERE command_id LIKE 'bulk-%'");
  });

  it('given a caller\'s transaction aborted already, says both steps failed with the transaction\'s error, as RetentionFailedError', async () => {
    let error: unknown;
    // The pool refuses to commit the aborted transaction: that refusal is the caller's, not the spec's.
    await db
      .transaction(async (tx) => {
        await tx.query('SELECT 1 / 0').catch(() => undefined);
        error = await runRetention(tx, config).catch((thrown: unknown) => thrown);
      })
      .catch(() => undefined);

    expect(error).toBeInstanceOf(RetentionFailedError);
    expect(error).toMatchObject({ failed: ['commands', 'processedMessages'], deleted: { commands: 0, processedMessages: 0 } });
    expect(String(error)).toMatch(/current transaction is aborted/);
  });

  it('in a caller\'s transaction, given a step whose first batch deleted rows and whose second failed, says nothing of rows its savepoint put back', async () => {
    const error = await withSecondBatchRefused('undone-', async () => {
      let thrown: unknown;
      await db.transaction(async (tx) => {
        thrown = await runRetention(tx, config).catch((failure: unknown) => failure);
      });
      return thrown;
    });

    expect(error).toMatchObject({ failed: ['commands'], deleted: { commands: 0 } });
    expect(String(error)).not.toMatch(/after deleting/);
    expect((error as RetentionFailedError).errors.get('commands')).not.toBeInstanceOf(DeletionStoppedError);
    expect(await left('undone-')).toHaveLength(1_001);
    await db.query("DELETE FROM commands WHERE command_id LIKE 'undone-%'");
  });

  const overlappingSteps = [
    {
      step: 'finished command records',
      write: (count: number) =>
        db.query("INSERT INTO commands (command_id, command_type, payload_hash, status, updated_at) SELECT 'overlap-' || i, 'Deposit', 'h', 'succeeded', now() - interval '300 hours' + make_interval(secs => i) FROM generate_series(1, $1::integer) AS i", [count]),
      clean: deleteFinishedCommands,
      left: async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM commands WHERE command_id LIKE 'overlap-%'")).rows[0]?.n,
    },
    {
      step: 'processed message ids',
      write: (count: number) =>
        db.query("INSERT INTO processed_messages (consumer, message_id, processed_at) SELECT 'c', 'overlap-' || i, now() - interval '300 hours' + make_interval(secs => i) FROM generate_series(1, $1::integer) AS i", [count]),
      clean: deleteOldProcessedMessages,
      left: async () => (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_messages WHERE message_id LIKE 'overlap-%'")).rows[0]?.n,
    },
  ];

  it.each(overlappingSteps)('of $step, given another cleanup that deleted the oldest batch and has not committed yet, deletes the other old rows with its batches to spare, rather than say nothing more is left', async ({ write, clean, left }) => {
    await write(3_000);
    const url = new URL(database.url);
    url.searchParams.set('application_name', 'overlapping_cleanup');
    const other = createPgDb({ connectionString: url.toString(), max: 1 });
    const watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
    const retention = { retentionMs: 168 * 3_600_000, batchSize: 1_000 };
    try {
      let overlapping: Promise<unknown> | undefined;
      await db.transaction(async (tx) => {
        expect(await clean(tx, { ...retention, batches: 1 })).toEqual({ deleted: 1_000, more: true });
        const progress = { ended: false };
        overlapping = clean(other, { ...retention, batches: 5 }).finally(() => {
          progress.ended = true;
        });
        // Until it ends, or waits for the rows this transaction deleted.
        for (let tries = 0; tries < 500 && !progress.ended; tries += 1) {
          const { rows } = await watcher.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'overlapping_cleanup' AND wait_event_type = 'Lock'");
          if (rows.length > 0) break;
          await sleep(10);
        }
      });

      expect(await overlapping).toEqual({ deleted: 2_000, more: false });
      expect(await left()).toBe(0);
    } finally {
      await watcher.end();
      await other.close();
    }
  });
});
