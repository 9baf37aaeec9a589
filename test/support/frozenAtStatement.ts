import type { Db, QueryOptions, QueryResult } from '../../core/db';
import { deferred } from './fixtures';

/** Picks a statement by its text, parameters or options (a prepared statement's name). */
export type StatementPick = (text: string, params: readonly unknown[] | undefined, options: QueryOptions | undefined) => boolean;

/**
 * The pool, as seen by a process frozen (a Lambda's freeze) just before it sends
 * the first statement `at` picks, or just after its answer comes, until `thaw`.
 * `frozen` settles once it froze.
 */
export function frozenAtStatement(db: Db, at: StatementPick, when: 'before' | 'after') {
  const frozen = deferred();
  const thawed = deferred();
  let froze = false;
  const freeze = async () => {
    froze = true;
    frozen.resolve();
    await thawed.promise;
  };
  const seen: Db = {
    query: async <Row extends object>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>> => {
      const picked = !froze && at(text, params, options);
      if (picked && when === 'before') await freeze();
      const answer = await db.query<Row>(text, params, options);
      if (picked && when === 'after') await freeze();
      return answer;
    },
    transaction: (work) => db.transaction(work),
    close: () => db.close(),
  };
  return { db: seen, frozen: frozen.promise, thaw: thawed.resolve };
}
