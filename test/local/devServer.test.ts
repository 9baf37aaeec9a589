import { spawn, spawnSync, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';

const started: ChildProcess[] = [];

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Waits for a process to exit: npm may exit before the server it started has finished closing (and released its data directory). */
async function untilGone(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`process ${pid} did not exit`);
}

/** Runs `npm run dev` as a person would, with no DATABASE_URL: the embedded PGlite in `dataDir`. */
function spawnDev(dataDir: string): ChildProcessByStdio<null, Readable, Readable> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', PGLITE_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  delete env.DB_DRIVER;
  // Its own process group: npm, the shell and tsx all stop together when the group is signalled.
  const child = spawn('npm', ['run', '--silent', 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(child);
  return child;
}

/** Starts a dev server and waits until it listens; `pid` is the one it reports, the process serving. */
async function startDev(dataDir: string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const child = spawnDev(dataDir);
  const { url, pid } = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`dev server did not start:\n${output}`));
    }, 45_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+) \(pid (\d+)/.exec(output);
      if (match?.[1] && match[2]) {
        clearTimeout(timer);
        resolve({ url: match[1], pid: Number(match[2]) });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });
  const stop = async () => {
    await new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
      signalGroup(child, 'SIGTERM');
    });
    await untilGone(pid);
  };
  return { url, pid, stop };
}

/** Runs a dev server that is expected to give up: its exit code and everything it wrote. One that starts is stopped. */
async function runFailingDev(dataDir: string): Promise<{ code: number | null; output: string }> {
  const child = spawnDev(dataDir);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('listening on')) signalGroup(child, 'SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

const post = async (url: string, type: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}/commands/${type}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('npm run dev', () => {
  const dataDirs: string[] = [];
  const freshDataDir = async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'dev-pglite-'));
    dataDirs.push(dataDir);
    return dataDir;
  };

  afterAll(async () => {
    for (const child of started) signalGroup(child, 'SIGKILL');
    for (const dataDir of dataDirs) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the command API on the embedded database, which keeps its data between runs', async () => {
    const dataDir = await freshDataDir();
    const first = await startDev(dataDir);
    expect((await post(first.url, 'OpenAccount', { accountId: 'acc-1', owner: 'Ada', currency: 'EUR' })).status).toBe(200);
    const deposit = await post(first.url, 'Deposit', { accountId: 'acc-1', amount: 2500 }, { 'idempotency-key': 'dep-1' });
    expect(deposit).toMatchObject({ status: 200, body: { version: 2, replayed: false } });
    const status = await fetch(`${first.url}/commands/dep-1`);
    expect(await status.json()).toMatchObject({ status: 'succeeded' });
    await first.stop();

    const second = await startDev(dataDir);
    const replay = await post(second.url, 'Deposit', { accountId: 'acc-1', amount: 2500 }, { 'idempotency-key': 'dep-1' });
    expect(replay).toMatchObject({ status: 200, body: { version: 2, replayed: true } });
    const refused = await post(second.url, 'Withdraw', { accountId: 'acc-1', amount: 9_999 });
    expect(refused).toMatchObject({ status: 422, body: { details: { rule: 'INSUFFICIENT_FUNDS', balance: 2500 } } });
    await second.stop();
  }, 120_000);

  it('refuses to start on a data directory another dev server has open, in one line naming it and that pid', async () => {
    const dataDir = await freshDataDir();
    const lock = path.join(dataDir, 'pglite.lock');
    const first = await startDev(dataDir);

    const second = await runFailingDev(dataDir);
    expect(second.code).not.toBe(0);
    expect(second.output.trim().split('\n')).toEqual([expect.stringContaining(`${dataDir} is in use by process ${first.pid}`)]);
    // The first one holds on, and serves.
    expect((await post(first.url, 'OpenAccount', { accountId: 'acc-1', owner: 'Ada', currency: 'EUR' })).status).toBe(200);
    await first.stop();
    expect(await access(lock).then(() => 'still there', () => 'released')).toBe('released');

    // A lock left by a process that died (kill -9, a crash) does not block the next start.
    const { pid: gone } = spawnSync(process.execPath, ['-e', '']);
    await writeFile(lock, `${String(gone)}\n`);
    const next = await startDev(dataDir);
    expect((await post(next.url, 'Deposit', { accountId: 'acc-1', amount: 5 })).status).toBe(200);
    await next.stop();
  }, 120_000);
});
