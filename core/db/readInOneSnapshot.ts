import { isDb, type Queryable } from './Db';

/**
 * Runs a reading made of several statements so that they all see one state of
 * the database: on a pool, in a read-only repeatable-read transaction; inside
 * a caller's transaction, on it, whose isolation the caller chose. Read in
 * separate snapshots, a write committed between two statements shows half done.
 */
export function readInOneSnapshot<T>(db: Queryable, read: (snapshot: Queryable) => Promise<T>): Promise<T> {
  if (!isDb(db)) return read(db);
  return db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return read(tx);
  });
}
