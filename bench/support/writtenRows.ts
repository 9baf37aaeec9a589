import type pg from 'pg';
import { withPlainPool } from './connections';
import type { Throughput } from './measureThroughput';

/** A step that also adds what it did to a side's tally, warm-up included, to check against the rows afterwards. */
export function tallied(step: () => Promise<number>, tally: { units: number }): () => Promise<number> {
  return async () => {
    const units = await step();
    tally.units += units;
    return units;
  };
}

/**
 * Fails the benchmark unless a side's rows number what it counted: a step
 * that resolved without writing would otherwise be timed as work done.
 */
export async function expectRowsWritten(url: string, what: string, count: (pool: pg.Pool) => Promise<number>, expected: number): Promise<void> {
  const written = await withPlainPool(url, 1, count);
  if (written !== expected) throw new Error(`${what}: ${written} rows written, ${expected} counted`);
}

/** How many rows a query counting them (one row, one column `n`) finds. */
export async function countRows(pool: pg.Pool, sql: string, params: readonly unknown[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(sql, [...params]);
  return rows[0]?.n ?? 0;
}

/**
 * Runs a timed round whose steps add what they wrote to a tally, then fails
 * unless the table holds that many rows in the round's streams (those whose
 * id starts with `streamPrefix`).
 */
export async function countedRound(
  url: string,
  where: { table: string; streamPrefix: string; what: string },
  measure: (tally: { units: number }) => Promise<Throughput>,
): Promise<Throughput> {
  const tally = { units: 0 };
  const throughput = await measure(tally);
  const count = (pool: pg.Pool) => countRows(pool, `SELECT count(*)::int AS n FROM ${where.table} WHERE stream_id LIKE $1`, [`${where.streamPrefix}%`]);
  await expectRowsWritten(url, `${where.what} into ${where.table}`, count, tally.units);
  return throughput;
}
