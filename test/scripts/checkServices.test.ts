import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';

const listen = (server: Server) =>
  new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// The check's own 2.5 s timeout plus tsx's start-up, which takes up to 6 s on a loaded runner; without
// its own bound the check would wait out the NATS client's default (20 s) or, for PostgreSQL, for ever.
const STARTED_AND_GAVE_UP_MS = 15_000;

/** Runs the precheck as `npm test` does, with these variables: its exit code, its output, and how long it took. */
function runCheck(env: Record<string, string>): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  const child = spawn('node_modules/.bin/tsx', ['scripts/checkServices.ts'], { env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

describe('the services precheck (the first step of npm test)', () => {
  const silent = createServer(() => undefined);
  afterAll(() => new Promise((resolve) => silent.close(resolve)));

  it('passes quietly when PostgreSQL and NATS with JetStream answer', async () => {
    expect(await runCheck({})).toMatchObject({ code: 0, output: '' });
  });

  it('fails within seconds, in one line naming each service down and where, when nothing listens', async () => {
    const [postgresPort, natsPort] = [await closedPort(), await closedPort()];
    const result = await runCheck({
      DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${postgresPort}/test`,
      NATS_URL: `nats://publisher:secret@127.0.0.1:${natsPort}`,
    });
    expect(result.code).toBe(1);
    expect(result.output.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^PostgreSQL is not reachable at 127\\.0\\.0\\.1:${postgresPort} .*; NATS is not reachable at 127\\.0\\.0\\.1:${natsPort} .*docker compose up -d.*npm test again$`),
      ),
    ]);
    expect(result.output).not.toContain('secret');
    expect(result.ms).toBeLessThan(STARTED_AND_GAVE_UP_MS);
  });

  it('gives up on a service that accepts connections but never answers, within its timeout', async () => {
    const port = await listen(silent);
    const result = await runCheck({ NATS_URL: `nats://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(new RegExp(`^NATS is not reachable at 127\\.0\\.0\\.1:${port} \\(timeout\\) — start it`));
    expect(result.ms).toBeLessThan(STARTED_AND_GAVE_UP_MS);
  });
});
