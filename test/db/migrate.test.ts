import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MIGRATIONS_DIRECTORY,
  MigrationChecksumError,
  createPgDb,
  SchemaNotCurrentError,
  assertSchemaCurrent,
  FRAMEWORK,
  migrate,
  type Db,
} from '../../core/db';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const run = promisify(execFile);

describe('migrations', () => {
  const databases: TestDatabase[] = [];
  const pools: Db[] = [];
  let scratch = '';

  const freshDatabase = async () => {
    const database = await createTestDatabase({ migrated: false });
    databases.push(database);
    return database;
  };
  const open = (url: string, max = 2) => {
    const db = createPgDb({ connectionString: url, max });
    pools.push(db);
    return db;
  };
  const migrationsDir = async (files: Record<string, string>) => {
    const directory = await mkdtemp(path.join(scratch, 'migrations-'));
    await Promise.all(Object.entries(files).map(([name, sql]) => writeFile(path.join(directory, name), sql)));
    return directory;
  };
  const recorded = async (db: Db) =>
    (await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((row) => row.name);

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'es-migrate-'));
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.close()));
  });

  afterAll(async () => {
    await Promise.all(databases.map((database) => database.drop()));
    await rm(scratch, { recursive: true, force: true });
  });

  it("applies the project's migrations in order and records them; running again is a no-op", async () => {
    const db = open((await freshDatabase()).url);
    const files = (await readdir(DEFAULT_MIGRATIONS_DIRECTORY)).filter((name) => name.endsWith('.sql')).sort();

    expect(await migrate(db)).toEqual(files);
    expect(await recorded(db)).toEqual(files);
    expect(await migrate(db)).toEqual([]);
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual([
      'commands',
      'events',
      'feed_processors',
      'outbox',
      'parked_messages',
      'partition_leases',
      'processed_messages',
      'processor_partitions',
      'projection_generations',
      'projections',
      'published_ahead',
      'saga_inputs',
      'saga_instances',
      'saga_steps',
      'saga_timeouts',
      'saga_unmatched',
      'schema_migrations',
      'service_migrations',
      'snapshots',
      'story_keys',
    ]);
  });

  it('applies each file once when many cold starts migrate at the same moment', async () => {
    const { url } = await freshDatabase();
    const directory = await migrationsDir({
      '0001_counter.sql': 'CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0);',
      '0002_bump.sql': 'UPDATE counter SET n = n + 1;',
      '0003_bump_again.sql': 'UPDATE counter SET n = n + 10;',
    });

    const results = await Promise.all(Array.from({ length: 8 }, () => migrate(open(url, 1), { directory })));

    expect(results.flat().sort()).toEqual(['0001_counter.sql', '0002_bump.sql', '0003_bump_again.sql']);
    const db = open(url);
    expect((await db.query<{ n: number }>('SELECT n FROM counter')).rows).toEqual([{ n: 11 }]);
  });

  it('runs files in name order and ignores files that are not numbered migrations', async () => {
    const db = open((await freshDatabase()).url);
    const directory = await migrationsDir({
      '0002_add_column.sql': 'ALTER TABLE widgets ADD COLUMN colour text;',
      '0001_widgets.sql': 'CREATE TABLE widgets (id int);',
      'README.md': 'not a migration',
      'draft.sql': 'SELECT broken syntax here',
    });
    expect(await migrate(db, { directory })).toEqual(['0001_widgets.sql', '0002_add_column.sql']);
  });

  it('leaves a failing migration unrecorded and rolled back, keeping the ones before it', async () => {
    const db = open((await freshDatabase()).url);
    const directory = await migrationsDir({
      '0001_ok.sql': 'CREATE TABLE ok (id int);',
      '0002_broken.sql': 'CREATE TABLE half (id int); SELECT * FROM no_such_table;',
    });
    await expect(migrate(db, { directory })).rejects.toThrow(/no_such_table/);
    expect(await recorded(db)).toEqual(['0001_ok.sql']);
    const half = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'");
    expect(half.rowCount).toBe(0);
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const db = open((await freshDatabase()).url);
    const directory = await migrationsDir({ '0001_a.sql': 'CREATE TABLE a (id int);' });
    await migrate(db, { directory });
    await writeFile(path.join(directory, '0001_a.sql'), 'CREATE TABLE a (id bigint);');
    await expect(migrate(db, { directory })).rejects.toBeInstanceOf(MigrationChecksumError);
  });

  it('says whether the schema is current: what is not applied, and what was applied in another form', async () => {
    const db = open((await freshDatabase()).url);
    const directory = await migrationsDir({ '0001_a.sql': 'CREATE TABLE a (id int);', '0002_b.sql': 'CREATE TABLE b (id int);' });
    const sets = [{ directory, scope: FRAMEWORK }];
    await expect(assertSchemaCurrent(db, sets)).rejects.toMatchObject({ code: 'SCHEMA_NOT_CURRENT', missing: ['0001_a.sql', '0002_b.sql'] });

    await migrate(db, { directory });
    await expect(assertSchemaCurrent(db, sets)).resolves.toBeUndefined();

    await writeFile(path.join(directory, '0002_b.sql'), 'CREATE TABLE b (id bigint);');
    await writeFile(path.join(directory, '0003_c.sql'), 'CREATE TABLE c (id int);');
    const behind = await assertSchemaCurrent(db, sets).catch((error: unknown) => error);
    expect(behind).toBeInstanceOf(SchemaNotCurrentError);
    expect(behind).toMatchObject({ missing: ['0003_c.sql'], changed: ['0002_b.sql'] });
  });

  it('is applied by `npm run migrate` to the database named by DATABASE_URL', async () => {
    const { url } = await freshDatabase();
    const first = await run('npm', ['run', '--silent', 'migrate'], { env: { ...process.env, DATABASE_URL: url } });
    expect(first.stdout).toMatch(/framework: 0001_event_store\.sql, 0002_/);
    const second = await run('npm', ['run', '--silent', 'migrate'], { env: { ...process.env, DATABASE_URL: url } });
    expect(second.stdout).toContain('framework: none pending');
    expect(await recorded(open(url))).toContain('0001_event_store.sql');
  });
});
