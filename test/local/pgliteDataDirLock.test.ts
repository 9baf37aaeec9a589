import { spawnSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteDb, DataDirLockedError } from '../../core/db';

/** The pid of a process that has already exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

const exists = (file: string) => access(file).then(() => true, () => false);

describe('one process at a time on a PGlite data directory', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pglite-lock-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const freshDir = () => mkdtemp(path.join(root, 'data-'));
  const lockOf = (dataDir: string) => path.join(dataDir, 'pglite.lock');

  it('refuses a second database on an open directory, naming it and the pid holding it; close releases it', async () => {
    const dataDir = await freshDir();
    const first = createPgliteDb({ dataDir });
    await first.query('CREATE TABLE kept (n int)');
    expect((await readFile(lockOf(dataDir), 'utf8')).trim()).toBe(String(process.pid));

    const second = createPgliteDb({ dataDir });
    const refused = await second.query('SELECT 1').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect(refused).toMatchObject({ dataDir, pid: process.pid });
    expect((refused as Error).message).toContain(`${dataDir} is in use by process ${process.pid}`);
    await second.close();
    // The refused one took nothing: the first still holds the directory and serves.
    expect(await exists(lockOf(dataDir))).toBe(true);
    await expect(first.query('INSERT INTO kept VALUES (1)')).resolves.toMatchObject({ rowCount: 1 });

    await first.close();
    expect(await exists(lockOf(dataDir))).toBe(false);
    const third = createPgliteDb({ dataDir });
    expect((await third.query<{ n: number }>('SELECT n FROM kept')).rows).toEqual([{ n: 1 }]);
    await third.close();
  });

  it('takes over a lock whose process is gone, or that names this pid from an earlier process', async () => {
    for (const staleContent of [`${deadPid()}\n`, `${process.pid}\n`, '']) {
      const dataDir = await freshDir();
      await writeFile(lockOf(dataDir), staleContent);
      const db = createPgliteDb({ dataDir });
      await expect(db.query('SELECT 1')).resolves.toMatchObject({ rowCount: 1 });
      expect((await readFile(lockOf(dataDir), 'utf8')).trim()).toBe(String(process.pid));
      await db.close();
    }
  });
});
