import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./sagaChild.ts', import.meta.url));

export interface SagaChild {
  process: ChildProcess;
  /** Resolves with the signal that ended it (SIGKILL for a death on purpose), or its exit code. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  ready: Promise<void>;
  kill(): void;
}

/** Starts sagaChild.ts on the database, dying as `mode` says (see that file). */
export function startSagaChild(databaseUrl: string, mode: string): SagaChild {
  // One process (tsx as a loader, not its wrapper), so a SIGKILL ends the worker itself.
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, DATABASE_URL: databaseUrl, SAGA_DIE: mode }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('ready')) markReady();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    child.once('exit', (code, signal) => {
      markReady();
      resolve({ code, signal, output });
    });
  });
  return {
    process: child,
    exited,
    ready,
    kill() {
      child.kill('SIGKILL');
    },
  };
}
