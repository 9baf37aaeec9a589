import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The lock's name inside the data directory; it holds the pid of the process that has the directory open. */
export const LOCK_FILE = 'pglite.lock';

/**
 * Another live process has the data directory open. Two PGlites on one
 * directory would both accept writes, each in its own memory, and whichever
 * wrote last would decide what survives a restart.
 */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid}: stop it, or set another PGLITE_DATA_DIR ` +
        `(if no such process runs, delete ${path.join(dataDir, LOCK_FILE)})`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  /** Deletes the lock file if it is still this process's; releasing twice is a no-op. */
  release(): Promise<void>;
}

// Lock files this process wrote: a lock naming this process's pid is its own only if it is here,
// and otherwise a leftover of an earlier process that had the same pid (a restarted container's pid 1).
const heldHere = new Set<string>();

const errorCode = (error: unknown): unknown => (error as NodeJS.ErrnoException | undefined)?.code;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists, under another user.
    return errorCode(error) === 'EPERM';
  }
}

/** Creates the lock file only if there is none (O_EXCL), writing this process's pid into it. */
async function create(lockPath: string): Promise<boolean> {
  try {
    const file = await open(lockPath, 'wx');
    try {
      await file.writeFile(`${process.pid}\n`);
    } finally {
      await file.close();
    }
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

const readLock = (lockPath: string): Promise<string | undefined> =>
  readFile(lockPath, 'utf8').catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  });

/**
 * Moves a stale lock aside, then deletes it. Another process may have taken
 * the lock over between our reading it and moving it: what was moved is then
 * that process's lock, and is put back.
 */
async function removeStale(lockPath: string, staleContent: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  if ((await readLock(aside)) !== staleContent) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes `dataDir` for this process, or throws `DataDirLockedError` naming the
 * live process that has it. A lock left by a process that is gone (a crash, a
 * kill -9) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 1; attempt <= 10; attempt += 1) {
    if (await create(lockPath)) {
      heldHere.add(lockPath);
      return { release: () => release(lockPath) };
    }
    const content = await readLock(lockPath);
    if (content === undefined) continue;
    const pid = Number(content.trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) {
      // Its creator may not have written its pid yet; one that never does died doing so.
      if (attempt < 3) await sleep(50);
      else await removeStale(lockPath, content);
      continue;
    }
    const ownPidFromEarlier = pid === process.pid && !heldHere.has(lockPath);
    if (isAlive(pid) && !ownPidFromEarlier) throw new DataDirLockedError(dataDir, pid);
    await removeStale(lockPath, content);
  }
  throw new Error(`Could not take the lock ${lockPath}: other processes kept changing it`);
}

async function release(lockPath: string): Promise<void> {
  if (!heldHere.delete(lockPath)) return;
  if ((await readLock(lockPath))?.trim() === String(process.pid)) await unlink(lockPath).catch(() => undefined);
}
