import type { Db, QueryOptions } from '../../core/db';

/**
 * `pool`, but each statement `chosen` picks times out in the database (a
 * 10 ms statement timeout on a sleep), as a slow read of a long list would.
 */
export function statementTimesOut(pool: Db, chosen: (text: string, params: readonly unknown[] | undefined, options: QueryOptions | undefined) => boolean): Db {
  return {
    query: (text, params, options) =>
      chosen(text, params, options)
        ? pool.transaction(async (tx) => {
            await tx.query("SELECT set_config('statement_timeout', '10', true)");
            return tx.query('SELECT pg_sleep(1)') as never;
          })
        : pool.query(text, params, options),
    transaction: (work) => pool.transaction(work),
    close: () => pool.close(),
  };
}
