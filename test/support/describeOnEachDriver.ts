import { afterAll, beforeAll, describe } from 'vitest';
import type { DatabaseBounds, Db } from '../../core/db';
import { createEventStore, type EventStore } from '../../core/eventstore';
import { startDriver, type DriverHarness, type DriverName } from './drivers';
import { createTestDatabase, type TestDatabase } from './testDatabase';

export const DRIVERS: readonly DriverName[] = ['pg', 'neon'];

export interface StoreUnderTest {
  driver: DriverName;
  db: Db;
  store: EventStore;
  databaseUrl: string;
  /**
   * Opens another pool, on the same database unless given another address, with
   * the given bounds on waiting for it; closed after the block unless closed before.
   */
  connect: (max?: number, options?: DatabaseBounds & { url?: string }) => Db;
}

/**
 * Runs `body` once per driver (pg and Neon over a WebSocket pipe), each time on
 * a fresh migrated database of its own.
 */
export function describeOnEachDriver(title: string, body: (context: () => StoreUnderTest) => void): void {
  describe.each(DRIVERS)(`${title} [%s]`, (driver) => {
    let database: TestDatabase | undefined;
    let harness: DriverHarness | undefined;
    let current: StoreUnderTest | undefined;
    const pools: Db[] = [];

    beforeAll(async () => {
      database = await createTestDatabase();
      harness = await startDriver(driver);
      const { url } = database;
      const connect = (max?: number, options: DatabaseBounds & { url?: string } = {}): Db => {
        const { url: address, ...bounds } = options;
        const db = (harness as DriverHarness).connect(address ?? url, max, bounds);
        let closed = false;
        const closeOnce = async () => {
          if (closed) return;
          closed = true;
          await db.close();
        };
        pools.push({ ...db, close: closeOnce });
        return { ...db, close: closeOnce };
      };
      const db = connect(8);
      current = { driver, db, store: createEventStore(db), databaseUrl: url, connect };
    });

    afterAll(async () => {
      try {
        await Promise.all(pools.map((pool) => pool.close()));
        await harness?.close();
      } finally {
        await database?.drop();
      }
    });

    body(() => {
      if (!current) throw new Error('the store is not ready: use the context inside tests or hooks');
      return current;
    });
  });
}
