import { MAX_POSTGRES_INTEGER } from '../db';
import { FEED_SCAN_BOUND } from '../eventstore';

/**
 * How many rows a publisher page may walk: at least a window of the feed
 * (FEED_SCAN_BOUND), or the batch size times the partition count if more, up to
 * what an integer holds. A page read behind a held message holds, on top of its
 * size, what was settled behind it, within this bound.
 */
export const pageWindow = (limit: number, partitions: number): number => Math.min(Math.max(limit * partitions, FEED_SCAN_BOUND), MAX_POSTGRES_INTEGER);

/**
 * A page's items up to `limit` unsettled ones, the settled ones among and right
 * after them kept (skipped, and passed by the checkpoint). `cut` says it left
 * unsettled rows for the next page: the rows a page holds on top of its size are
 * there to step over settled ones, and where they are not settled the batch still
 * stops at its size.
 */
export function upToUnsettled<Item extends { settledBefore: boolean }>(items: readonly Item[], limit: number): { items: Item[]; cut: boolean } {
  let unsettled = 0;
  for (const [index, item] of items.entries()) {
    if (item.settledBefore) continue;
    if (unsettled === limit) return { items: items.slice(0, index), cut: true };
    unsettled++;
  }
  return { items: [...items], cut: false };
}
