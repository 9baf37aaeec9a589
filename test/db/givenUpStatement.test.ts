import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, DatabaseTimeoutError, type Db } from '../../core/db';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { sleep } from '../support/fixtures';
import { untilLockWaiters } from '../support/lockWaiters';

const BOUND_MS = 300;

describe('a statement given up at the statement bound, on a server that is alive but slow to answer (pg)', () => {
  let database: TestDatabase;
  let holder: Db;
  let bounded: Db;

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    holder = createPgDb({ connectionString: database.url, max: 2 });
    bounded = createPgDb({ connectionString: database.url, max: 1, queryTimeoutMs: BOUND_MS });
    await holder.query('CREATE TABLE balances (id integer PRIMARY KEY, amount integer NOT NULL)');
    await holder.query('INSERT INTO balances VALUES (1, 100)');
  });

  afterAll(async () => {
    await bounded.close();
    await holder.close();
    await database.drop();
  });

  it('is cancelled on the server: it neither commits once the lock it waited for is free, nor stays waiting for it', async () => {
    let releaseLock: () => void = () => undefined;
    const lockReleased = new Promise<void>((resolve) => {
      releaseLock = resolve;
    });
    // Another writer holds the row while the bounded statement wants it.
    const holding = holder.transaction(async (tx) => {
      await tx.query('UPDATE balances SET amount = amount WHERE id = 1');
      await lockReleased;
    });
    await sleep(50);

    let failure: unknown;
    let stillWaiting: unknown;
    try {
      failure = await bounded.query('UPDATE balances SET amount = amount + 50 WHERE id = 1').catch((error: unknown) => error);
      stillWaiting = await untilLockWaiters(database.url, 'none', 2_000).catch((error: unknown) => error);
    } finally {
      releaseLock();
      await holding;
    }

    expect(failure).toBeInstanceOf(DatabaseTimeoutError);
    expect(stillWaiting).toBeUndefined();
    await sleep(100);
    const { rows } = await holder.query<{ amount: number }>('SELECT amount FROM balances WHERE id = 1');
    expect(rows[0]?.amount).toBe(100);
    // The pool goes on with a fresh connection.
    expect((await bounded.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
