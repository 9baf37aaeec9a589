import type { Queryable } from '../../core/db';

/** Wraps a Queryable to count round trips, e.g. to check that a load takes one. */
export function countingQueryable(target: Queryable): Queryable & { count: () => number } {
  let calls = 0;
  return {
    query: (text, params, options) => {
      calls += 1;
      return target.query(text, params, options);
    },
    count: () => calls,
  };
}
