import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Exposed at run time, so that each benchmark file still runs with a plain `node`.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * A full collection before a timed round, so that the garbage one side left
 * (a command through the bus allocates about 27 KB) is not collected, and paid
 * for, in the other side's round.
 */
export function collectGarbage(): void {
  gc();
}
