import type { Db, Queryable, QueryOptions } from '../../../core/db';

// The switch's first read of the build's generation, once it holds the projection's lock.
const SWITCH_STATUS_READ = /FROM projection_generations g WHERE g\.name = \$1 AND g\.generation = \$2$/;

/** A Db on which `meanwhile` runs once, when a transaction reads a generation's status as the switch does. */
export function pausingAtTheSwitch(db: Db, meanwhile: () => Promise<void>): Db {
  let paused = false;
  const watched = (queryable: Queryable): Queryable => ({
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions) => {
      if (!paused && SWITCH_STATUS_READ.test(text.trim())) {
        paused = true;
        await meanwhile();
      }
      return queryable.query<Row>(text, params, options);
    },
  });
  return { ...watched(db), transaction: (work) => db.transaction((tx) => work(watched(tx))), close: () => db.close() };
}
