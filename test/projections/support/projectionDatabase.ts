import { afterAll, beforeAll } from 'vitest';
import { createPgDb, type Db } from '../../../core/db';
import { createEventStore, type EventStore } from '../../../core/eventstore';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

export interface ProjectionDatabase {
  db: Db;
  store: EventStore;
  url: string;
  /** Another pool on the same database, like another Lambda's; closed after the file. */
  connect: (max: number) => Db;
}

/** A fresh migrated database for the file, with a small pool and an event store; dropped afterwards. */
export function useProjectionDatabase(): () => ProjectionDatabase {
  let database: TestDatabase | undefined;
  let current: ProjectionDatabase | undefined;
  const pools: Db[] = [];
  beforeAll(async () => {
    const created = await createTestDatabase();
    database = created;
    const connect = (max: number) => {
      const db = createPgDb({ connectionString: created.url, max });
      pools.push(db);
      return db;
    };
    const db = connect(4);
    current = { db, store: createEventStore(db), url: created.url, connect };
  });
  afterAll(async () => {
    await Promise.allSettled(pools.map((pool) => pool.close()));
    await database?.drop();
  });
  return () => {
    if (!current) throw new Error('the database is not ready: use it inside tests or hooks');
    return current;
  };
}
