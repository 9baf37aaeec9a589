import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

const STALLING_PROJECTOR = fileURLToPath(new URL('stallingProjector.ts', import.meta.url));

/**
 * A projector instance as a process of its own (stallingProjector.ts, given `args`), once it is
 * in a batch it never finishes: to be killed as a Lambda dies, or left hung. Killed when the spec ends, if not before.
 */
export async function stallingInABatch(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', STALLING_PROJECTOR, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('in-batch')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`the stalling projector exited (${String(code)}) before its batch`));
    });
  });
  return child;
}
