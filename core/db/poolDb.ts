import { ConnectionLostError } from './ConnectionLostError';
import type { DatabaseBounds } from './DatabaseBounds';
import type { Db, Queryable, QueryOptions, QueryResult, TransactionOptions } from './Db';
import { DatabaseTimeoutError } from './DatabaseTimeoutError';
import { beginStatement, checkTransactionOptions } from './beginStatement';
import { asDatabaseError } from './databaseError';
import { IDLE_IN_TRANSACTION_TIMEOUT } from './idleTransactionEnded';
import { PoolClosedError } from './PoolClosedError';

/** The slice of the node-postgres Pool API that both `pg` and the Neon driver implement. */
export interface PgCompatiblePool {
  connect(): Promise<PgCompatibleClient>;
  end(): Promise<void>;
}

interface PgQueryConfig {
  text: string;
  values: unknown[];
  name?: string;
  rowMode?: 'array';
}

interface PgCompatibleClient {
  query(query: string | PgQueryConfig, params?: unknown[]): Promise<PgCompatibleResult>;
  release(destroy?: boolean | Error): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  /** Asks the server to stop the statement in flight, for a driver that can (pg's), settling once it is sent; called only for a connection about to be closed. */
  cancelInFlight?(): Promise<void>;
}

type SendQuery = PgCompatibleClient['query'];

interface PgCompatibleResult {
  rows: unknown[];
  rowCount: number | null;
  command?: string;
}

/** PostgreSQL answers COMMIT with ROLLBACK when the transaction had already failed. */
export class TransactionAbortedError extends Error {
  constructor() {
    super('The transaction was rolled back: a statement in it failed');
    this.name = 'TransactionAbortedError';
  }
}

/** The pool's clients bound opening a connection themselves (createPgDb, createNeonDb): only the statements' bound is here. */
export interface PoolDbOptions extends Pick<DatabaseBounds, 'queryTimeoutMs'> {
  /** Prepare named statements once per connection; off for poolers that cannot keep them. */
  preparedStatements?: boolean;
}

/**
 * The answer to a statement, or a DatabaseTimeoutError once `timeoutMs` has
 * passed without one, after `giveUp` has marked the connection lost (and
 * settled, which it must). An answer that comes while giving up is too late:
 * the statement was given up on.
 */
function boundedAnswer<T>(answer: Promise<T>, timeoutMs: number, giveUp: (error: DatabaseTimeoutError) => Promise<void>): Promise<T> {
  if (timeoutMs <= 0) return answer;
  return new Promise<T>((resolve, reject) => {
    let givenUp = false;
    const timer = setTimeout(() => {
      givenUp = true;
      const error = new DatabaseTimeoutError('answer', timeoutMs);
      void giveUp(error).then(() => {
        reject(error);
      });
    }, timeoutMs);
    answer.then(
      (result) => {
        clearTimeout(timer);
        if (!givenUp) resolve(result);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!givenUp) reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

// How long an answer given up on waits for its cancel to go out: in Lambda, the
// container may be frozen once the answer is back, with the cancel still unsent.
const CANCEL_SENT_WITHIN_MS = 500;

/** The client's cancel of its statement, awaited at most CANCEL_SENT_WITHIN_MS; never rejects. */
function cancelSent(client: PgCompatibleClient): Promise<void> {
  let cancelled: Promise<void> | undefined;
  try {
    cancelled = client.cancelInFlight?.();
  } catch {
    // A driver whose cancel throws has simply not cancelled: the connection is closed all the same.
  }
  if (!cancelled) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CANCEL_SENT_WITHIN_MS);
  });
  return Promise.race([cancelled.catch(() => undefined), waited]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * An error after which the connection cannot be trusted: anything that is not
 * a server's answer to the statement, or a server error about the connection
 * itself (class 08) or the server going away (class 57).
 */
function breaksConnection(error: unknown): boolean {
  const dbError = asDatabaseError(error);
  return !dbError || dbError.code.startsWith('08') || dbError.code.startsWith('57');
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

function queryableOf(send: SendQuery, prepared: boolean): Queryable {
  return {
    async query<Row extends object>(text: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResult<Row>> {
      const config: PgQueryConfig = { text, values: [...params] };
      if (prepared && options.name) config.name = options.name;
      if (options.rowMode) config.rowMode = options.rowMode;
      const result = await send(config);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

/** Adapts a pg-compatible pool to the `Db` port. */
export function poolDb(pool: PgCompatiblePool, options: PoolDbOptions = {}): Db {
  const prepared = options.preparedStatements ?? false;
  const queryTimeoutMs = options.queryTimeoutMs ?? 0;

  // Callers waiting for a connection, refused when the pool closes: the driver's
  // `end()` forgets them unsettled.
  const waiting = new Set<(error: PoolClosedError) => void>();
  let closed = false;

  /** A pooled connection, or a PoolClosedError once the pool closes, also while waiting for one. */
  function connection(): Promise<PgCompatibleClient> {
    if (closed) return Promise.reject(new PoolClosedError());
    return new Promise((resolve, reject) => {
      let refused = false;
      const refuse = (error: PoolClosedError) => {
        refused = true;
        reject(error);
      };
      waiting.add(refuse);
      pool.connect().then(
        (client) => {
          waiting.delete(refuse);
          // Refused while the driver was handing it over: back to the pool, which closes it.
          if (refused) client.release();
          else resolve(client);
        },
        (error: unknown) => {
          waiting.delete(refuse);
          reject(asError(error));
        },
      );
    });
  }

  /**
   * Runs `work` on a pooled connection through `send`, which refuses to use a
   * connection the server already closed; `isFatal` says whether a failure left
   * the connection unusable. Such a connection is destroyed, not pooled again,
   * as is one whose statement went unanswered past the query bound: the driver
   * then closes its socket, since a statement is still in flight on it.
   */
  async function withClient<T>(
    work: (send: SendQuery, connectionLost: () => boolean) => Promise<T>,
    isFatal: (error: unknown) => boolean,
  ): Promise<T> {
    const client = await connection();
    let broken: Error | undefined;
    let lost: Error | undefined;
    // The pool listens for errors only on idle connections. A checked-out one the
    // server closes between statements emits `error` with no statement to fail,
    // and an `error` nobody listens to is an uncaught exception: the process dies.
    // A statement given up on at the query bound marks the connection lost the same way.
    let released = false;
    const giveBack = (error: Error | false) => {
      if (released) return;
      released = true;
      client.release(error);
    };
    const onError = (error: Error) => {
      lost ??= error;
      // Ended for sitting idle, its work may never settle (a hung handler): the connection
      // is destroyed now, rather than kept from the pool for as long as the work hangs.
      if (asDatabaseError(error)?.code === IDLE_IN_TRANSACTION_TIMEOUT) giveBack(error);
    };
    client.on('error', onError);
    // A process that slept past its transaction's idle bound (frozen, its event loop blocked) sends
    // its next statement before it reads the server's notice, which then fails that statement.
    const endedWhileIdle = (error: unknown): never => {
      if (asDatabaseError(error)?.code !== IDLE_IN_TRANSACTION_TIMEOUT) throw error;
      onError(asError(error));
      throw new ConnectionLostError(error);
    };
    const send: SendQuery = (query, params) => {
      // A connection closed at the query bound is lost like any other; its first failure says why.
      if (lost) return Promise.reject(lost instanceof DatabaseTimeoutError ? lost : new ConnectionLostError(lost));
      return boundedAnswer(client.query(query, params), queryTimeoutMs, (error) => {
        onError(error);
        // Closing the socket alone leaves the statement running on a live server (a lock
        // wait goes on waiting, and commits when it gets the lock); cancelled, it stops.
        return cancelSent(client);
      }).catch(endedWhileIdle);
    };
    try {
      return await work(send, () => lost !== undefined);
    } catch (error) {
      if (isFatal(error)) broken = asError(error);
      throw error;
    } finally {
      client.removeListener('error', onError);
      giveBack(lost ?? broken ?? false);
    }
  }

  return {
    // Like pool.query, but a statement the server refused (a conflict, a constraint)
    // returns the connection to the pool instead of closing it.
    query: (text, params, queryOptions) =>
      withClient((send) => queryableOf(send, prepared).query(text, params, queryOptions), breaksConnection),
    transaction: async <T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions) => {
      checkTransactionOptions(options);
      let rollbackFailed = false;
      return withClient(
        async (send, connectionLost) => {
          const begin = beginStatement(options);
          try {
            // Inside: a BEGIN whose local setting is refused leaves a failed transaction to roll back.
            await send(begin);
            const result = await work(queryableOf(send, prepared));
            // Work that caught a failed statement and went on would otherwise look committed.
            const commit = await send('COMMIT');
            if (commit.command === 'ROLLBACK') throw new TransactionAbortedError();
            return result;
          } catch (error) {
            // On a lost connection the server has rolled back already; there is nothing to send.
            if (!connectionLost()) {
              await send('ROLLBACK').catch(() => {
                rollbackFailed = true;
              });
            }
            throw error;
          }
        },
        // The work's own errors leave a rolled-back, reusable connection; a failed ROLLBACK does not.
        () => rollbackFailed,
      );
    },
    close: () => {
      closed = true;
      for (const refuse of waiting) refuse(new PoolClosedError());
      waiting.clear();
      return pool.end();
    },
  };
}
