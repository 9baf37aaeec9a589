import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asDatabaseError, createPgDb, DEFAULT_MIGRATIONS_DIRECTORY, migrate, type Db } from '../../core/db';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// The schema as it was before the command record's rules became domains (0038).
const BEFORE_DOMAINS = '0038';
const CHECK_VIOLATION = '23514';

let database: TestDatabase;
let db: Db;
let oldMigrations: string;

const insertRecord = (commandId: string, status: string) =>
  db.query(`INSERT INTO commands (command_id, command_type, payload_hash, status, outcome) VALUES ($1, 'Deposit', 'hash', $2, '{}')`, [commandId, status]);

const refusal = (write: Promise<unknown>) =>
  write.then(
    () => 'stored',
    (error: unknown) => asDatabaseError(error)?.code ?? String(error),
  );

const storedRecords = async () =>
  (await db.query<{ command_id: string; status: string }>('SELECT command_id, status FROM commands ORDER BY command_id')).rows.map((row) => `${row.command_id}:${row.status}`);

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
  db = createPgDb({ connectionString: database.url, max: 2 });
  oldMigrations = await mkdtemp(path.join(tmpdir(), 'migrations-'));
  for (const name of (await readdir(DEFAULT_MIGRATIONS_DIRECTORY)).filter((file) => file < BEFORE_DOMAINS)) {
    await copyFile(path.join(DEFAULT_MIGRATIONS_DIRECTORY, name), path.join(oldMigrations, name));
  }
  await migrate(db, { directory: oldMigrations });
});

afterAll(async () => {
  await db.close();
  await database.drop();
  await rm(oldMigrations, { recursive: true, force: true });
});

describe('the command record, upgraded from CHECK constraints to domains', () => {
  it('keeps the records stored before the upgrade, and refuses what the constraints refused, writing nothing', async () => {
    await insertRecord('before-pending', 'pending');
    await insertRecord('before-succeeded', 'succeeded');

    await migrate(db);

    expect(await storedRecords()).toEqual(['before-pending:pending', 'before-succeeded:succeeded']);
    expect(await refusal(insertRecord('', 'succeeded'))).toBe(CHECK_VIOLATION);
    expect(await refusal(insertRecord('x'.repeat(201), 'succeeded'))).toBe(CHECK_VIOLATION);
    expect(await refusal(insertRecord('unknown-status', 'done'))).toBe(CHECK_VIOLATION);
    expect(await refusal(db.query(`UPDATE commands SET status = 'done' WHERE command_id = 'before-pending'`))).toBe(CHECK_VIOLATION);
    expect(await storedRecords()).toEqual(['before-pending:pending', 'before-succeeded:succeeded']);
  });

  it('stores an id of 200 characters and each of the three statuses', async () => {
    const longest = 'y'.repeat(200);
    for (const [id, status] of [[longest, 'failed'], ['z-pending', 'pending'], ['z-succeeded', 'succeeded']] as const) {
      expect(await refusal(insertRecord(id, status))).toBe('stored');
    }
    expect((await db.query('SELECT 1 FROM commands WHERE command_id = $1', [longest])).rowCount).toBe(1);
  });
});
