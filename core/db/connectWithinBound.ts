import { DatabaseTimeoutError } from './DatabaseTimeoutError';

/** How node-postgres (and the Neon driver, its fork) tells a pool that a client connected or failed to. */
export type ConnectCallback<Client> = (error: Error | null, client?: Client) => void;

/**
 * A client's `connect`, its failure named DatabaseTimeoutError when it came at
 * the client's own connect bound. The driver enforces the bound by destroying
 * the socket, and then fails with an error of its own, which says nothing of a
 * timeout on Neon ("Connection terminated unexpectedly"): a failure without a
 * code (a refused or unresolvable address has one) that came once the bound
 * had passed since this client began is taken for it. Timed from the client's
 * own start, not from the caller's request to the pool, so a wait for a pooled
 * connection never turns another failure into a timeout; and by a timer of the
 * same length set just before the driver's, which therefore fires first (a
 * clock read can fall a little short of a timer that has fired).
 */
export function connectWithinBound<Client>(
  connectOnce: () => Promise<Client>,
  connectTimeoutMs: number,
  callback?: ConnectCallback<Client>,
): Promise<Client> | undefined {
  let boundPassed = false;
  const bound = connectTimeoutMs > 0 ? setTimeout(() => (boundPassed = true), connectTimeoutMs) : undefined;
  const named = (failure: unknown): Error => {
    const error = failure instanceof Error ? failure : new Error(String(failure));
    const coded = 'code' in error && error.code !== undefined;
    return boundPassed && !coded ? new DatabaseTimeoutError('connection', connectTimeoutMs, error) : error;
  };
  const connected = connectOnce()
    .catch((failure: unknown) => {
      throw named(failure);
    })
    .finally(() => {
      clearTimeout(bound);
    });
  if (!callback) return connected;
  connected.then(
    (client) => {
      callback(null, client);
    },
    (error: unknown) => {
      callback(error instanceof Error ? error : new Error(String(error)));
    },
  );
  return undefined;
}
