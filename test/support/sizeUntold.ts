import type { Db } from '../../core/db';

/**
 * `db` behind an adapter that does not say how many connections it holds
 * (Db.maxConnections), as a user's own may not: a transactional processor
 * then runs as many drains at once as it is asked, whatever the pool's size.
 */
export const sizeUntold = (db: Db): Db => ({
  query: (...query) => db.query(...query),
  transaction: (work) => db.transaction(work),
  close: () => db.close(),
});
