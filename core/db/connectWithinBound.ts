import { DatabaseTimeoutError } from './DatabaseTimeoutError';

/** How node-postgres (and the Neon driver, its fork) tells a pool that a client connected or failed to. */
export type ConnectCallback<Client> = (error: Error | null, client?: Client) => void;

/**
 * A connect failure as an Error that says what failed. The Neon driver fails
 * with the WebSocket's error event, which is no Error: its own `error` (with a
 * code such as ECONNREFUSED) or, failing that, its message.
 */
function asConnectError(failure: unknown): Error {
  if (failure instanceof Error) return failure;
  if (typeof failure === 'object' && failure !== null) {
    const { error, message } = failure as { error?: unknown; message?: unknown };
    if (error instanceof Error) return error;
    if (typeof message === 'string' && message !== '') return new Error(message, { cause: failure });
  }
  return new Error(String(failure), { cause: failure });
}

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
    const error = asConnectError(failure);
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
      callback(asConnectError(error));
    },
  );
  return undefined;
}
