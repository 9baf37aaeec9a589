import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./chaosWorker.ts', import.meta.url));

export type ProcessKind = 'api' | 'projector' | 'publisher' | 'sagas' | 'sweeper';
export const WORKERS: readonly ProcessKind[] = ['projector', 'publisher', 'sagas', 'sweeper'];

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

/**
 * The stack's processes: the HTTP API and the four background workers, each a
 * Node process of its own (tsx as a loader, so a SIGKILL ends the worker itself).
 */
export class ChaosStack {
  private readonly running = new Map<ProcessKind, Running>();
  apiUrl = '';

  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly apiPort: number,
  ) {}

  async start(kind: ProcessKind): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, kind, String(this.apiPort)], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
    this.running.set(kind, { child, exited });
    child.stderr.on('data', (chunk: Buffer) => {
      if (process.env.CHAOS_VERBOSE) process.stderr.write(chunk);
    });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => { reject(new Error(`${kind} did not start: ${output}`)); }, 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const listening = /listening on (\S+)/.exec(output);
        if (listening?.[1]) this.apiUrl = listening[1];
        if (listening || output.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => { reject(new Error(`${kind} exited while starting: ${output}`)); });
    });
  }

  /** SIGKILL, as a crash: nothing it was doing gets to finish. */
  async kill(kind: ProcessKind): Promise<void> {
    const running = this.running.get(kind);
    if (!running) return;
    this.running.delete(kind);
    running.child.kill('SIGKILL');
    await running.exited;
  }

  async restart(kind: ProcessKind): Promise<void> {
    await this.kill(kind);
    await this.start(kind);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((kind) => this.kill(kind)));
  }
}
