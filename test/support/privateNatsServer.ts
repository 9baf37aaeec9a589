import { afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface PrivateNatsServer {
  url: string;
  port: number;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store directory: JetStream recovers what it had stored. */
  start(): Promise<void>;
  /** Stops it answering anything, its connections kept open (SIGSTOP): a stalled server, or a network that drops everything. */
  freeze(): void;
  /** Lets a frozen server go on (SIGCONT). */
  thaw(): void;
  /** Rewrites its top-level settings (authorization, say) and has it reload them (SIGHUP), connections kept. */
  reconfigure(settings: string): Promise<void>;
  /** Stops it and removes its store. */
  close(): Promise<void>;
}

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** A TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => {
        resolve(false);
      });
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A nats-server of this test's own, with JetStream, on a free port and a store
 * directory of its own, so a test may kill it without touching the machine's
 * server. `jetstream` adds lines to its JetStream block (e.g. a storage limit),
 * `settings` top-level lines (e.g. users and their permissions).
 */
export async function startPrivateNatsServer(options: { jetstream?: string; settings?: string } = {}): Promise<PrivateNatsServer> {
  const directory = await mkdtemp(path.join(tmpdir(), 'nats-'));
  const port = await freePort();
  const config = path.join(directory, 'server.conf');
  const writeConfig = (settings: string) =>
    writeFile(config, `listen: 127.0.0.1:${port}\njetstream {\n  store_dir: "${path.join(directory, 'store')}"\n  ${options.jetstream ?? ''}\n}\n${settings}\n`);
  await writeConfig(options.settings ?? '');
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn(NATS_SERVER, ['-c', config], { stdio: 'ignore' });
    child = started;
    await waitForPort(port, 10_000);
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => {
        resolve();
      });
      running.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    start,
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async reconfigure(settings) {
      await writeConfig(settings);
      child?.kill('SIGHUP');
    },
    async close() {
      await kill();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * A NATS server of the file's own, started before its tests and closed after
 * them: for files whose streams capture fixed subjects (the bank's integration
 * messages), which two streams of one server cannot both capture.
 */
export function usePrivateNatsServer(): () => PrivateNatsServer {
  let server: PrivateNatsServer | undefined;
  beforeAll(async () => {
    server = await startPrivateNatsServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (!server) throw new Error('the NATS server is started in beforeAll');
    return server;
  };
}
