import { afterAll, beforeAll } from 'vitest';
import { createBankService } from '../../../core/bank';
import { createPgDb, type Db } from '../../../core/db';
import { createServiceRuntime, type ServiceRuntime } from '../../../core/service';
import { createInProcessDispatcher } from '../../../core/commands';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/** A clock the test moves by hand: the sagas' timeouts are due by it. */
export interface TestClock {
  now: () => Date;
  advance(ms: number): void;
}

export function testClock(start = new Date()): TestClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(ms) {
      now += ms;
    },
  };
}

export interface BankUnderTest {
  database: TestDatabase;
  db: Db;
  clock: TestClock;
  runtime: ServiceRuntime;
  /** Another runtime of the same service on its own pool (a second Lambda container), closed after the file. */
  another(options?: { clock?: TestClock }): ServiceRuntime;
}

/**
 * The bank service's runtime on a migrated database of this file's own, with a
 * test clock for its sagas (and transfers timing out after `transferTimeoutMs`).
 */
export function useBankOnTestDatabase(options: { transferTimeoutMs?: number; poolMax?: number } = {}): () => BankUnderTest {
  let current: BankUnderTest | undefined;
  const pools: Db[] = [];
  const service = createBankService(options.transferTimeoutMs === undefined ? {} : { transferTimeoutMs: options.transferTimeoutMs });
  const runtimeOn = (db: Db, clock: TestClock) =>
    createServiceRuntime(service, { db, dispatcher: (run) => createInProcessDispatcher(run), sagas: { clock: clock.now, stepRetry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 }, stepClaimMs: 500, abandonedStepMs: 0 } });
  beforeAll(async () => {
    const database = await createTestDatabase();
    const db = createPgDb({ connectionString: database.url, max: options.poolMax ?? 8 });
    pools.push(db);
    const clock = testClock();
    current = {
      database,
      db,
      clock,
      runtime: runtimeOn(db, clock),
      another(other = {}) {
        const pool = createPgDb({ connectionString: database.url, max: options.poolMax ?? 8 });
        pools.push(pool);
        return runtimeOn(pool, other.clock ?? clock);
      },
    };
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
    await current?.database.drop();
  });
  return () => {
    if (!current) throw new Error('the bank runtime is built in beforeAll');
    return current;
  };
}
