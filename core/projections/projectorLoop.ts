import { startBackgroundLoop, type BackgroundLoop, type BackgroundLoopOptions } from '../background';
import type { Projector } from './projector';

export type ProjectorLoop = BackgroundLoop;

/** Runs the projector until caught up, over and over, woken early by `wake()`; see startBackgroundLoop. */
export function startProjectorLoop(projector: Projector, options: BackgroundLoopOptions = {}): ProjectorLoop {
  return startBackgroundLoop(() => projector.runUntilCaughtUp(), options);
}
