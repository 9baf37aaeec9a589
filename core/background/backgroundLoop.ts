export interface BackgroundLoop {
  /** Starts the next run now instead of after the idle wait (e.g. after a commit). */
  wake(): void;
  /** Finishes the run in progress and stops. */
  stop(): Promise<void>;
}

export interface BackgroundLoopOptions {
  idleMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Runs background work (a projector, the outbox publisher) over and over in this
 * process (`npm run dev`, a long-running worker): a run, then `idleMs` of rest
 * unless woken. An error (the database restarting) is reported and the loop goes
 * on after the rest.
 */
export function startBackgroundLoop(run: () => Promise<unknown>, options: BackgroundLoopOptions = {}): BackgroundLoop {
  const idleMs = options.idleMs ?? 250;
  const state: { stopped: boolean; woken: boolean; wakeUp?: () => void } = { stopped: false, woken: false };

  const rest = () =>
    new Promise<void>((resolve) => {
      if (state.woken || state.stopped) {
        resolve();
        return;
      }
      const timer = setTimeout(resolve, idleMs);
      state.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const running = (async () => {
    while (!state.stopped) {
      state.woken = false;
      try {
        await run();
      } catch (error) {
        options.onError?.(error);
      }
      await rest();
      delete state.wakeUp;
    }
  })();

  return {
    wake() {
      state.woken = true;
      state.wakeUp?.();
    },
    async stop() {
      state.stopped = true;
      state.wakeUp?.();
      await running;
    },
  };
}
