import type { Db, Queryable, QueryResult } from './Db';

/** The slice of the node-postgres Pool API that both `pg` and the Neon driver implement. */
export interface PgCompatiblePool {
  query(text: string, params?: unknown[]): Promise<PgCompatibleResult>;
  connect(): Promise<PgCompatibleClient>;
  end(): Promise<void>;
}

interface PgCompatibleClient {
  query(text: string, params?: unknown[]): Promise<PgCompatibleResult>;
  release(destroy?: boolean | Error): void;
}

interface PgCompatibleResult {
  rows: unknown[];
  rowCount: number | null;
}

function queryableOf(target: Pick<PgCompatibleClient, 'query'>): Queryable {
  return {
    async query<Row extends object>(text: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await target.query(text, [...params]);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

/** Adapts a pg-compatible pool to the `Db` port. */
export function poolDb(pool: PgCompatiblePool): Db {
  return {
    ...queryableOf(pool),
    async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(queryableOf(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // A connection that cannot roll back is in an unknown state: never reuse it.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        client.release(broken ?? false);
      }
    },
    close: () => pool.end(),
  };
}
