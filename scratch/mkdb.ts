import { createPgDb } from '../core/db';
import { createEventStore, type NewEvent } from '../core/eventstore';
import pg from 'pg';
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' }); await admin.connect();
await admin.query('DROP DATABASE IF EXISTS scratchfeed'); await admin.query('CREATE DATABASE scratchfeed'); await admin.end();
const url = 'postgres://postgres@127.0.0.1:5432/scratchfeed';
const { migrate } = await import('../core/db');
const db = createPgDb({ connectionString: url, max: 1 }); await migrate(db);
const store = createEventStore(db);
for (let index = 0; index < 1000; index += 1) {
  const events: NewEvent[] = [{ type: 'AccountOpened', data: { owner: `owner ${index}`, currency: 'EUR' } }];
  for (let n = 1; n < 100; n += 1) events.push({ type: n % 3 ? 'MoneyDeposited' : 'MoneyWithdrawn', data: { amount: 25 } });
  await store.appendToStream({ streamId: `account-${index}`, streamType: 'account', expectedVersion: 0, events });
}
await db.query('VACUUM ANALYZE events'); await db.close();
