/** A row-returning SQL executor: a pool, or a connection inside a transaction. */
export interface Queryable {
  query<Row extends object = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<Row>>;
}

export interface QueryOptions {
  /**
   * A stable name for a hot statement: adapters that allow it prepare the
   * statement once per connection instead of parsing it on every call.
   */
  name?: string;
  /**
   * `array`: each row comes as the array of its values, in the select list's
   * order, typed by the caller as a tuple. node-postgres builds a row object
   * key by key, which was the largest part of reading a page of events.
   */
  rowMode?: 'array';
}

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/**
 * The database port the framework depends on. `transaction` runs `work` on one
 * connection between BEGIN and COMMIT, at READ COMMITTED whatever the
 * database's default (PGlite runs one transaction at a time, so its level
 * cannot matter), and rolls back if `work` throws.
 */
export interface Db extends Queryable {
  transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /**
   * The server ends the transaction, and closes its connection, once it has sat
   * this long between two statements (`idle_in_transaction_session_timeout`):
   * a process frozen or hung mid-transaction then lets go of its locks. A whole
   * number of milliseconds from 1 to 2,147,483,647. PGlite ignores it: one
   * process runs every transaction there, so none is left open by another.
   */
  idleTimeoutMs?: number;
}

/** A pool (a `Db`), as opposed to a connection handed over inside a transaction, or in autocommit. */
export const isDb = (db: Queryable): db is Db => 'transaction' in db;
