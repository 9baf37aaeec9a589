import type { Queryable } from './Db';
import { DeletionStoppedError } from './DeletionStoppedError';

export interface BatchedDeletion {
  deleted: number;
  /** The last batch came back full: more rows are waiting for the next run. */
  more: boolean;
}

/**
 * Runs a DELETE that removes at most `batchSize` rows (its LIMIT, among
 * `params`), up to `maxBatches` times, stopping at the first short batch: each
 * statement stays short however far behind a cleanup is. A batch that fails
 * after others deleted rows throws DeletionStoppedError, saying how many.
 */
export async function deleteInBatches(
  db: Queryable,
  text: string,
  params: readonly unknown[],
  batching: { batchSize: number; maxBatches: number },
): Promise<BatchedDeletion> {
  let deleted = 0;
  for (let batch = 0; batch < batching.maxBatches; batch += 1) {
    let rowCount: number;
    try {
      ({ rowCount } = await db.query(text, params));
    } catch (error) {
      // The first batch's failure goes on as it is: nothing was deleted.
      throw deleted === 0 ? error : new DeletionStoppedError(deleted, error);
    }
    deleted += rowCount;
    if (rowCount < batching.batchSize) return { deleted, more: false };
  }
  return { deleted, more: true };
}
