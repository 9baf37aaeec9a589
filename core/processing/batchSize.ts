/** The largest page a processor reads: its sources' LIMIT is a PostgreSQL integer. */
export const MAX_BATCH_SIZE = 2_147_483_647;

/**
 * Whether a processor may read pages of this size. A page of 0 is never caught
 * up and never moves, so a run would read it again until its deadline.
 */
export function isBatchSize(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1 && value <= MAX_BATCH_SIZE;
}
