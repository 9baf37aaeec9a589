import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * PGlite is one connection: a transaction holds it until the transaction ends,
 * and every other call waits for it. A call on the `Db` (rather than on the
 * `tx` it was given) from inside the transaction's own work would therefore
 * wait for itself forever. On `pg` the same call takes another pooled
 * connection, so code written there can do it; here it fails loudly instead.
 */
export class PgliteReentrantCallError extends Error {
  constructor(readonly call: string) {
    super(
      `${call} was called inside a transaction on the same PGlite database, which has a single connection ` +
        'and would wait for that transaction forever: use the transaction\'s own `tx.query` instead',
    );
    this.name = 'PgliteReentrantCallError';
  }
}

export interface TransactionScope {
  /** Runs a transaction's work, marking everything it starts as "inside" until the work settles. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Throws `PgliteReentrantCallError` when called from the work of a transaction that is still open. */
  assertOutside(call: string): void;
}

export function createTransactionScope(): TransactionScope {
  // AsyncLocalStorage follows the work's promises and callbacks, and only them:
  // a concurrent caller elsewhere in the process is outside and simply waits its turn.
  const storage = new AsyncLocalStorage<{ open: boolean }>();
  return {
    async run(work) {
      const marker = { open: true };
      try {
        return await storage.run(marker, work);
      } finally {
        // Callbacks the work left behind keep the marker; once closed they may query again.
        marker.open = false;
      }
    },
    assertOutside(call) {
      if (storage.getStore()?.open) throw new PgliteReentrantCallError(call);
    },
  };
}
