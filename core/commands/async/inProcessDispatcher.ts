import { logErrorTo, type CommandDispatcher, type ErrorReporter, type RunPendingCommand } from './CommandDispatcher';

export interface InProcessDispatcher extends CommandDispatcher {
  /** Resolves once every run dispatched so far has ended: for tests and graceful shutdown. */
  drain(): Promise<void>;
}

/**
 * Runs the worker in this process, after the sender has been answered. For local
 * development, tests and long-lived servers, not for Lambda: a Lambda container
 * is frozen once its handler returns, so a background run would stall until the
 * next invocation (await `drain()` there, or use the Lambda dispatcher).
 */
export function createInProcessDispatcher(
  run: RunPendingCommand,
  options: { onError?: ErrorReporter } = {},
): InProcessDispatcher {
  const onError = options.onError ?? logErrorTo('in-process command run failed');
  const running = new Set<Promise<void>>();
  return {
    dispatch(commandId) {
      // setImmediate: not even the run's synchronous start happens on the sender's time.
      const task: Promise<void> = new Promise((resolve) => setImmediate(resolve))
        .then(() => run(commandId))
        .then(
          () => undefined,
          (error: unknown) => {
            try {
              onError(error, commandId);
            } catch {
              // A broken reporter must not become an unhandled rejection that ends the process.
            }
          },
        )
        .finally(() => running.delete(task));
      running.add(task);
      return Promise.resolve();
    },
    async drain() {
      // Runs may dispatch more runs (a sweep run in process), so wait until none is left.
      while (running.size > 0) await Promise.all(running);
    },
  };
}
