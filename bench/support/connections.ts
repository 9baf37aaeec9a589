import pg from 'pg';
import { bankService } from '../../core/bank';
import { createPgDb } from '../../core/db';
import { createEventStore, type EventStore } from '../../core/eventstore';

/**
 * Runs `work` against an event store on its own pool, closed afterwards, so
 * only one side of a comparison holds connections at a time.
 */
export async function withEventStore<T>(url: string, max: number, work: (store: EventStore) => Promise<T>): Promise<T> {
  // With the bounds the deployed functions run with (sst.config.ts): each statement is timed.
  const { connectTimeoutMs, queryTimeoutMs } = bankService.database;
  const db = createPgDb({ connectionString: url, max, connectTimeoutMs, queryTimeoutMs });
  try {
    return await work(createEventStore(db));
  } finally {
    await db.close();
  }
}

/** Runs `work` against a plain node-postgres pool, the baselines' driver, closed afterwards. */
export async function withPlainPool<T>(url: string, max: number, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max });
  // pool.end() resolves before the sockets close; dropping the database then
  // kills those backends, and the error must not crash the process (createPgDb does the same).
  pool.on('error', () => undefined);
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}
