import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Db, Queryable, QueryOptions, QueryResult, TransactionOptions } from '../Db';
import { checkTransactionOptions } from '../beginStatement';
import { lockDataDir, type DataDirLock } from './dataDirLock';
import { NODE_POSTGRES_PARSERS, toPgliteParam } from './pgliteValues';
import { createTransactionScope } from './transactionScope';

export interface PgliteDbOptions {
  /**
   * A folder that keeps the database between runs (e.g. `.data/pglite`, created
   * with its parents if missing). In memory, gone on `close`, when omitted.
   * Only one process (one `PgliteDb`) may have it open at a time: the lock file
   * `pglite.lock` in it names that process until `close`, and a second start
   * fails with `DataDirLockedError`.
   */
  dataDir?: string;
}

/** The `Db` port on an embedded PGlite, plus the PGlite itself. */
export interface PgliteDb extends Db {
  /**
   * The started PGlite, for tools such as `@electric-sql/pglite-socket` that
   * serve it over the wire protocol. Calls made on it directly bypass this
   * adapter's value conversions and its guard against re-entrant calls.
   */
  pglite(): Promise<PGlite>;
}

/** What both a PGlite and one of its transactions can run. */
type Target = Pick<Transaction, 'query' | 'exec'>;

interface Started {
  pglite: PGlite;
  lock: DataDirLock | undefined;
}

async function start(options: PgliteDbOptions): Promise<Started> {
  // Imported on first use, so that importing core/db (as every Lambda does) never loads PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  if (options.dataDir === undefined) return { pglite: await PGlite.create({ parsers: NODE_POSTGRES_PARSERS }), lock: undefined };
  // An absolute path is never mistaken for one of PGlite's `memory://` or `idb://` URLs.
  const dataDir = path.resolve(options.dataDir);
  // PGlite creates the folder itself, but not its parents.
  await mkdir(dataDir, { recursive: true });
  const lock = await lockDataDir(dataDir);
  try {
    return { pglite: await PGlite.create({ dataDir, parsers: NODE_POSTGRES_PARSERS }), lock };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function run<Row extends object>(target: Target, text: string, params: readonly unknown[], options: QueryOptions = {}): Promise<QueryResult<Row>> {
  const mode = options.rowMode ? { rowMode: options.rowMode } : undefined;
  if (params.length === 0) {
    // As node-postgres does without parameters, use the simple protocol, which accepts
    // several statements in one call (a migration file); the last statement's rows are returned.
    const results = await target.exec(text, mode);
    const last = results[results.length - 1];
    return { rows: (last?.rows ?? []) as Row[], rowCount: last?.rowCount ?? 0 };
  }
  const result = await target.query<Row>(text, params.map(toPgliteParam), mode);
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

/**
 * The `Db` port on PGlite (PostgreSQL compiled to WASM, in this process): local
 * development and tests without any server. PGlite is a single connection and
 * serialises every call: a transaction runs alone, and a `query` issued while
 * another caller's transaction is open waits for it to end instead of running
 * inside it. Statement names (`QueryOptions.name`) are ignored: PGlite keeps no
 * prepared statements between calls.
 */
export function createPgliteDb(options: PgliteDbOptions = {}): PgliteDb {
  const starting = start(options);
  const started = starting.then(({ pglite }) => pglite);
  // Nobody may be waiting yet: a failed start is reported by each call instead of crashing the process.
  started.catch(() => undefined);
  const scope = createTransactionScope();
  let closed: Promise<void> | undefined;

  const queryableOf = (target: Target): Queryable => ({
    query: <Row extends object>(text: string, params: readonly unknown[] = [], options?: QueryOptions) => run<Row>(target, text, params, options),
  });

  return {
    async query<Row extends object>(text: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<QueryResult<Row>> {
      scope.assertOutside('db.query');
      return run<Row>(await started, text, params, options);
    },
    async transaction<T>(work: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T> {
      scope.assertOutside('db.transaction');
      // Refused as on a server, then ignored: one process runs every transaction here, and
      // PGlite's server hangs for good once an idle timeout fires.
      checkTransactionOptions(options);
      // PGlite's own transaction: BEGIN, COMMIT, or ROLLBACK when `work` throws, holding
      // the connection throughout; a COMMIT that finds the transaction aborted throws.
      return (await started).transaction((tx) => scope.run(() => work(queryableOf(tx))));
    },
    close() {
      // Waits for calls already queued, as PGlite does; closing twice is a no-op.
      closed ??= starting.then(
        async ({ pglite, lock }) => {
          await pglite.close();
          await lock?.release();
        },
        () => undefined,
      );
      return closed;
    },
    pglite: () => started,
  };
}
