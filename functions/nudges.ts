import type { LambdaClientConfig } from '@aws-sdk/client-lambda';
import { log } from '../core/observability';
import { asyncInvoker } from './aws/invokeAsync';

/**
 * Tells the background functions (publisher, projector) that events were
 * committed, so they run now instead of at their next schedule. Best effort: a
 * lost nudge only delays them until that schedule; it never fails a command.
 */
export interface Nudges {
  afterCommit(): Promise<void>;
  /** In-process only: a local loop asks to be woken by each nudge. */
  onNudge(listener: () => void): void;
}

/** Invokes each named function asynchronously, in parallel (Lambda freezes work left running after a response). */
export function lambdaNudges(functionNames: readonly string[], clientConfig: LambdaClientConfig = {}): Nudges {
  const invoke = asyncInvoker(clientConfig);
  return {
    async afterCommit() {
      const results = await Promise.allSettled(functionNames.map((name) => invoke(name, { nudge: true })));
      for (const result of results) {
        if (result.status === 'rejected') log.warn('nudge failed', { error: String(result.reason) });
      }
    },
    onNudge: () => undefined,
  };
}

export function inProcessNudges(): Nudges {
  const listeners: (() => void)[] = [];
  return {
    afterCommit() {
      for (const listener of listeners) listener();
      return Promise.resolve();
    },
    onNudge: (listener) => listeners.push(listener),
  };
}

/** `NUDGE_FUNCTIONS` (comma-separated names) in AWS; in-process otherwise. */
export function nudgesFromEnv(env: Record<string, string | undefined> = process.env): Nudges {
  const names = (env.NUDGE_FUNCTIONS ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  return names.length > 0 ? lambdaNudges(names) : inProcessNudges();
}
