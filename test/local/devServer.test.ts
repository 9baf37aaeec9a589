import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

/** Starts `npm run dev` as a person would, with no DATABASE_URL: the embedded PGlite in `dataDir`. */
async function startDev(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', PGLITE_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  delete env.DB_DRIVER;
  // Its own process group: npm, the shell and tsx all stop together when the group is signalled.
  const child = spawn('npm', ['run', '--silent', 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`dev server did not start:\n${output}`));
    }, 45_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
      signalGroup(child, 'SIGTERM');
    });
  return { url, stop };
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
  let dataDir = '';

  afterAll(async () => {
    for (const child of started) signalGroup(child, 'SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the command API on the embedded database, which keeps its data between runs', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'dev-pglite-'));
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
});
