/** A row-returning SQL executor: a pool, or a connection inside a transaction. */
export interface Queryable {
  query<Row extends object = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<Row>>;
}

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/**
 * The database port the framework depends on. `transaction` runs `work` on one
 * connection between BEGIN and COMMIT, and rolls back if `work` throws.
 */
export interface Db extends Queryable {
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
